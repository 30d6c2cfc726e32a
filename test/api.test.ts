// The JavaScript API (compiler/api/) in Node against the CLI: the same bundle gives the same
// text as `edgeq run` (greedy and sampled, with and without an adapter) and the same adapter
// bytes as `edgeq finetune`, with the training module and with the TypeScript reference;
// the manifest and the signature are checked before anything runs; edgeq compile ships the
// training module (train.wasm), integrity-checked like runtime.wasm.
// tier: slow
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadBundle, type EdgeqModel } from '../compiler/api/index.ts';
import { bundleDirSources, loadBundleDir } from '../compiler/api/node.ts';
import { buildTrainRuntime } from '../compiler/codegen/train-runtime.ts';
import { readArtifact } from '../compiler/emit/artifact-read.ts';
import { fnv1a64 } from '../compiler/emit/conformance-hash.ts';
import { cli } from './helpers/cli.ts';
import { ROOT, model } from './helpers/models.ts';

const dir = mkdtempSync(join(tmpdir(), 'edgeq-api-'));
const bundle = join(dir, 's260k');
const data = join(dir, 'style.txt');
let api: EdgeqModel;

/** uvu has no assert.rejects: the promise must fail with a message matching `re`. */
async function rejects(f: () => Promise<unknown>, re: RegExp): Promise<void> {
  try { await f(); } catch (e) { assert.match((e as Error).message, re); return; }
  assert.unreachable(`expected an error matching ${re}`);
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
// `edgeq run` prints the text and a closing newline.
const runText = async (args: string[]) => {
  const r = await cli(['run', bundle, ...args]);
  assert.is(r.status, 0, r.stderr);
  return r.stdout.replace(/\n$/, '');
};

test.before(async () => {
  assert.is((await cli(['keygen', '-o', join(dir, 'key')])).status, 0);
  const c = await cli(['compile', model('stories260K.bin'), '--target', 'wasm32', '--tokenizer', model('tok512.bin'), '--sign', join(dir, 'key.key'), '-o', bundle]);
  assert.is(c.status, 0, c.stderr);
  // Two documents of TinyStories text: enough windows for a few steps of 32 positions.
  writeFileSync(data, readFileSync(model('tinystories-valid-head.txt'), 'utf8').slice(0, 6000));
  api = await loadBundleDir(bundle);
});

test('greedy generation streams the text of edgeq run --temperature 0', async () => {
  const g = api.generate('', { maxTokens: 32, temperature: 0 });
  let streamed = '';
  for await (const t of g) streamed += t.text;
  assert.ok(streamed.length > 40, streamed);
  assert.is(streamed, await runText(['--temperature', '0', '--positions', '32']));
  assert.is(g.stats.positions, 32);
  assert.is(g.stats.tokens, 32);
});

test('a prompt, temperature, top-p and seed give edgeq run\'s sampled text', async () => {
  const text = await api.generate('Once upon a time', { maxTokens: 40, temperature: 0.8, topP: 0.9, seed: 7 }).text();
  const promptTokens = api.tokenize('Once upon a time').length;
  assert.is(text, await runText(['--prompt', 'Once upon a time', '--temperature', '0.8', '--topp', '0.9', '--seed', '7', '--positions', String(promptTokens - 1 + 40)]));
});

test('the published build (dist/edgeq.js, what `import \'edgeq\'` loads) gives the same text', async () => {
  const dist = await import('../dist/edgeq.js') as typeof import('../compiler/api/index.ts');
  const m = await dist.loadBundle(bundleDirSources(bundle));
  assert.is(await m.generate('', { maxTokens: 32, temperature: 0 }).text(), await runText(['--temperature', '0', '--positions', '32']));
});

test('examples/api-node.mjs (docs/api.md\'s example, importing \'edgeq\' by name) prints edgeq run\'s and edgeq run --adapter\'s text', async () => {
  const r = spawnSync(process.execPath, [join(ROOT, 'examples/api-node.mjs'), bundle, data], { encoding: 'utf8', cwd: ROOT });
  assert.is(r.status, 0, r.stderr);
  const out = join(dir, 'example.edqa');
  assert.is((await cli(['finetune', bundle, '--data', data, '--steps', '5', '-o', out])).status, 0);
  assert.match(r.stderr, new RegExp(`sha256 ${sha(readFileSync(out))}`));
  assert.is(r.stdout, `${await runText(['--temperature', '0', '--positions', '32'])}\n${await runText(['--adapter', out, '--temperature', '0', '--positions', '32'])}\n`);
});

test('tokenize / detokenize round-trip; evaluate gives the logits the artifact\'s conformance hashes', () => {
  const ids = api.tokenize('The cat sat.');
  assert.is(ids[0], 1);
  assert.is(api.detokenize(ids), 'The cat sat.');
  const a = readArtifact(readFileSync(join(bundle, 'model.edgeq')));
  const c = a.conformance[0];
  const logits = api.evaluate(c.tokens.slice(0, c.positions));
  logits.forEach((l, i) => assert.is(fnv1a64(new Uint8Array(l.buffer, l.byteOffset, l.byteLength)), c.outputHashes[i], `position ${i}`));
});

test('finetune gives edgeq finetune\'s adapter bytes (training module and TypeScript reference)', async () => {
  const out = join(dir, 'cli.edqa');
  const r = await cli(['finetune', bundle, '--data', data, '--steps', '4', '-o', out]);
  assert.is(r.status, 0, r.stderr);
  const want = sha(readFileSync(out));
  const text = readFileSync(data, 'utf8');
  // Without train.wasm: the reference trainer, in TypeScript.
  const refModel = await loadBundle({ ...bundleDirSources(bundle), trainRuntime: undefined });
  assert.not.ok(refModel.info.trainingModule);
  const seen: number[] = [];
  const ref = await refModel.finetune(text, { steps: 4, onProgress: (p) => seen.push(p.step) });
  assert.equal(seen, [1, 2, 3, 4]);
  assert.is(ref.sha256, want);
  assert.is(sha(ref.adapter), want);
  // With the bundle's training module (what edgeq serve offers as train.wasm).
  const a = readArtifact(readFileSync(join(bundle, 'model.edgeq')));
  const train = await buildTrainRuntime(a, { name: a.target.name, simd: a.target.simd });
  const withModule = await loadBundleDir(bundle, { extra: { trainRuntime: train.wasm } });
  assert.ok(withModule.info.trainingModule);
  const fast = await withModule.finetune(text, { steps: 4 });
  assert.is(fast.sha256, want);
  assert.equal(fast.losses, ref.losses);
  // Generating with the adapter: edgeq run --adapter's text, on both.
  const cliText = await runText(['--adapter', out, '--temperature', '0', '--positions', '24']);
  await withModule.applyAdapter(fast.adapter);
  assert.is(await withModule.generate('', { maxTokens: 24, temperature: 0 }).text(), cliText);
  await refModel.applyAdapter(ref.adapter);
  assert.is(await refModel.generate('', { maxTokens: 24, temperature: 0 }).text(), cliText);
});

test('edgeq compile ships train.wasm (listed in the manifest with its sha256); a changed one is refused; --no-train leaves it out', async () => {
  const train = readFileSync(join(bundle, 'train.wasm'));
  const manifest = JSON.parse(readFileSync(join(bundle, 'manifest.json'), 'utf8'));
  assert.equal(manifest.files['train.wasm'], { size: train.length, sha256: sha(train) });
  assert.ok(api.info.trainingModule, 'loadBundleDir picks it up');
  // The module compile shipped is the one the codegen builds for this artifact.
  const a = readArtifact(readFileSync(join(bundle, 'model.edgeq')));
  assert.equal(new Uint8Array(train), (await buildTrainRuntime(a, { name: a.target.name, simd: a.target.simd })).wasm);
  // A one-bit change: refused by the CLI (run --adapter, finetune) and by the API.
  const copy = mkdtempSync(join(dir, 'flip-'));
  for (const f of ['model.edgeq', 'runtime.wasm', 'manifest.json']) writeFileSync(join(copy, f), readFileSync(join(bundle, f)));
  const bad = Buffer.from(train); bad[bad.length >> 1] ^= 4;
  writeFileSync(join(copy, 'train.wasm'), bad);
  const adapter = join(dir, 'flip.edqa');
  writeFileSync(adapter, (await api.finetune(readFileSync(data, 'utf8'), { steps: 1 })).adapter);
  for (const args of [['run', copy, '--adapter', adapter, '--positions', '4'], ['finetune', copy, '--data', data, '--steps', '1', '-o', join(dir, 'no.edqa')]]) {
    const r = await cli(args);
    assert.is(r.status, 1, `${args[0]}: ${r.stderr}`);
    assert.match(r.stderr, /train\.wasm: sha256 [0-9a-f]+… differs from the [0-9a-f]+… that .*manifest\.json lists/);
  }
  await rejects(() => loadBundleDir(copy), /train.wasm: sha256 [0-9a-f]{64} differs from the manifest's/);
  const none = join(dir, 'no-train');
  const c = await cli(['compile', model('stories260K.bin'), '--target', 'wasm32', '--tokenizer', model('tok512.bin'), '--no-train', '-o', none]);
  assert.is(c.status, 0, c.stderr);
  assert.not.ok(existsSync(join(none, 'train.wasm')));
  assert.is(JSON.parse(readFileSync(join(none, 'manifest.json'), 'utf8')).files['train.wasm'], undefined);
  // Such a bundle still runs an adapter: the module is built when needed (and said so).
  const r = await cli(['run', none, '--adapter', adapter, '--temperature', '0', '--positions', '8']);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stderr, /has no train\.wasm .*building the training module/);
  assert.is(r.stdout, (await cli(['run', bundle, '--adapter', adapter, '--temperature', '0', '--positions', '8'])).stdout);
});

test('an adapter for another model is refused', async () => {
  const other = mkdtempSync(join(dir, 'other-'));
  const c = await cli(['compile', model('stories260K.bin'), '--target', 'cortex-m', '-o', other]);
  assert.is(c.status, 0, c.stderr);
  const otherApi = await loadBundleDir(other);
  const { adapter } = await api.finetune(readFileSync(data, 'utf8'), { steps: 1 });
  await rejects(() => otherApi.applyAdapter(adapter), /trained for a base model with sha256/);
});

test('the manifest and the signature are checked', async () => {
  const pub = readFileSync(join(dir, 'key.pub'), 'utf8');
  const files = bundleDirSources(bundle);
  const ok = await loadBundle(files, { publicKey: pub });
  assert.is(ok.info.vocabSize, 512);
  const bad = new Uint8Array(files.runtime as Uint8Array); bad[bad.length - 1] ^= 1;
  await rejects(() => loadBundle({ ...files, runtime: bad }), /runtime.wasm: sha256 [0-9a-f]{64} differs from the manifest's/);
  const manifest = new TextDecoder().decode(files.manifest as Uint8Array).replace('"plan"', '"plan "');
  await rejects(() => loadBundle({ ...files, manifest: new TextEncoder().encode(manifest) }, { publicKey: pub }), /invalid signature/);
  assert.is((await cli(['keygen', '-o', join(dir, 'other')])).status, 0);
  await rejects(() => loadBundle(files, { publicKey: readFileSync(join(dir, 'other.pub'), 'utf8') }), /invalid signature/);
  const { signature: _, ...unsigned } = files;
  await rejects(() => loadBundle(unsigned, { publicKey: pub }), /needs its manifest.json and manifest.sig/);
});

test('one call at a time; bad options are errors', async () => {
  const g = api.generate('', { maxTokens: 8 })[Symbol.asyncIterator]();
  await g.next();
  assert.throws(() => api.evaluate([1]), /busy/);
  await g.return?.(undefined);
  await rejects(() => api.generate('', { maxTokens: 0 }).text(), /maxTokens must be a whole number/);
  await rejects(() => api.finetune('x', { steps: 0 }), /steps must be a whole number/);
});

test.run();
