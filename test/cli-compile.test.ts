// tier: slow (over ~10 s; npm run test:quick skips it, npm test runs it)
// `edgeq compile` and `edgeq run <bundle>` end to end, through the CLI: the bundle's files,
// deterministic bytes in two output directories and from another working directory, the
// greedy text equal to the integer reference's, and clear errors (exit 1/2) for bad targets, plans and corrupted bundles.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, haveModels, model } from './helpers/models.ts';
import { openModel } from '../compiler/import/open-model.ts';
import { loadWeights } from '../compiler/import/graph.ts';
import { quantizeInt8 } from '../compiler/quantize/int8.ts';
import { Tokenizer } from '../compiler/import/tokenizer.ts';
import { generate } from '../compiler/generate.ts';
import { IntTransformer } from '../runtime/reference/model.ts';
import { intReferenceEngine } from '../compiler/engines/int-engines.ts';
import { BITS_LIST, NO_BITS, literally } from './helpers/formats.ts';

/** The integer reference's text (in-process), as `edgeq run` prints it. */
function referenceText(o: { steps: number; temperature: number; topp?: number; seed?: number; prompt?: string }): string {
  const e = intReferenceEngine(new IntTransformer(quantizeInt8(loadWeights(openModel(model('stories260K.bin'))))));
  const r = generate(e, Tokenizer.load(model('tok512.bin')), e.picker(o.temperature, o.topp ?? 0.9, o.seed ?? 42), { steps: o.steps, prompt: o.prompt });
  return Buffer.from(r.text).toString('utf8') + '\n';
}

const edgeq = (...args: string[]) =>
  spawnSync(process.execPath, ['bin/edgeq.mjs', ...args], { cwd: ROOT, encoding: 'utf8' });
const tmp = mkdtempSync(join(tmpdir(), 'edgeq-compile-'));
// An int8 base also gets its training module (train.wasm; --no-train leaves it out).
const FILES = ['manifest.json', 'model.edgeq', 'runtime.wasm', 'train.wasm'];
let compiled = false;

function compileOnce(): string {
  const out = join(tmp, 'a');
  if (!compiled) {
    const r = edgeq('compile', model('stories260K.bin'), '--target', 'wasm32', '--plan', 'uniform:8', '-o', out);
    assert.is(r.status, 0, r.stderr);
    assert.is(r.stdout, '');
    assert.match(r.stderr, /edgeq compile: wrote/);
    compiled = true;
  }
  return out;
}

test('compile writes model.edgeq, runtime.wasm, train.wasm and a manifest with their sha256 and sizes', () => {
  if (!haveModels) return;
  const out = compileOnce();
  assert.equal(readdirSync(out).sort(), FILES);
  assert.equal(readdirSync(tmp).filter((n) => n.startsWith('.')), [], 'temporary directories left behind');
  const m = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
  for (const f of ['model.edgeq', 'runtime.wasm', 'train.wasm']) {
    const b = readFileSync(join(out, f));
    assert.is(m.files[f].size, b.length);
    assert.is(m.files[f].sha256, createHash('sha256').update(b).digest('hex'));
  }
  assert.is(m.target, 'wasm32');
  assert.is(m.plan, 'uniform:8');
  assert.is(m.compilerVersion, JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
});

test('compile is deterministic: the same bundle bytes in another directory', () => {
  if (!haveModels) return;
  const a = compileOnce(), b = join(tmp, 'elsewhere', 'b');
  const r = edgeq('compile', model('stories260K.bin'), '--target', 'wasm32', '-o', b);
  assert.is(r.status, 0, r.stderr);
  for (const f of FILES) assert.ok(readFileSync(join(a, f)).equals(readFileSync(join(b, f))), f);
});

test('compile is deterministic from another working directory, with relative paths', () => {
  if (!haveModels) return;
  const a = compileOnce();
  const cwd = mkdtempSync(join(tmpdir(), 'edgeq-cwd-'));
  try {
    mkdirSync(join(cwd, 'models'));
    copyFileSync(model('stories260K.bin'), join(cwd, 'models', 'stories260K.bin')); // same name: the manifest records it
    const r = spawnSync(process.execPath, [join(ROOT, 'bin/edgeq.mjs'), 'compile', 'models/stories260K.bin', '--target', 'wasm32', '-o', 'out/b'],
      { cwd, encoding: 'utf8' });
    assert.is(r.status, 0, r.stderr);
    for (const f of FILES) assert.ok(readFileSync(join(a, f)).equals(readFileSync(join(cwd, 'out/b', f))), f);
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
});

test('run <bundle> greedy: "Once upon a time", identical to the integer reference engine', () => {
  if (!haveModels) return;
  const out = compileOnce();
  const r = edgeq('run', out, '--tokenizer', model('tok512.bin'), '--temperature', '0', '--positions', '64');
  assert.is(r.status, 0, r.stderr);
  assert.ok(r.stdout.startsWith('Once upon a time'), r.stdout);
  assert.match(r.stderr, /^achieved tok\/s: [\d.]+ \(engine v8, 64 positions\)/);
  assert.is(r.stdout, referenceText({ steps: 64, temperature: 0 }));
  // Sampling: the same seed gives the integer reference's text too.
  const s = edgeq('run', out, '--tokenizer', model('tok512.bin'), '--positions', '48', '--seed', '7', '--prompt', 'One day');
  assert.is(s.status, 0, s.stderr);
  assert.ok(s.stdout.startsWith('One day'), s.stdout);
  assert.is(s.stdout, referenceText({ steps: 48, temperature: 1, seed: 7, prompt: 'One day' }));
});

test('usage errors: unknown target, unsupported plan, missing tokenizer (exit 2)', () => {
  if (!haveModels) return;
  const t = edgeq('compile', model('stories260K.bin'), '--target', 'pdp11', '-o', join(tmp, 'x'));
  assert.is(t.status, 2);
  assert.match(t.stderr, /unknown target "pdp11"; known targets: .*wasm32/);
  const p = edgeq('compile', model('stories260K.bin'), '--target', 'wasm32', '--plan', `uniform:${NO_BITS}`, '-o', join(tmp, 'x'));
  assert.is(p.status, 2);
  assert.match(p.stderr, literally(`--plan "uniform:${NO_BITS}": ${NO_BITS}-bit weights are not supported; bits: ${BITS_LIST}`));
  assert.not.ok(existsSync(join(tmp, 'x')));
  const r = edgeq('run', compileOnce(), '--temperature', '0');
  assert.is(r.status, 2);
  assert.match(r.stderr, /no embedded tokenizer: pass --tokenizer/);
});

test('run on a corrupted or mismatched bundle: exit 1 with one clear line', () => {
  if (!haveModels) return;
  const bad = join(tmp, 'bad');
  cpSync(compileOnce(), bad, { recursive: true });
  const art = readFileSync(join(bad, 'model.edgeq'));
  art[5] ^= 0xff;
  writeFileSync(join(bad, 'model.edgeq'), art);
  const r = edgeq('run', bad, '--tokenizer', model('tok512.bin'));
  assert.is(r.status, 1);
  // The manifest's sha256 catches it first (integrity by default); without a manifest, the reader does.
  assert.match(r.stderr, /^edgeq: error: .*model\.edgeq: sha256 [0-9a-f]+… differs from the [0-9a-f]+… that .*manifest\.json lists/);
  rmSync(join(bad, 'manifest.json'));
  const n = edgeq('run', bad, '--tokenizer', model('tok512.bin'));
  assert.is(n.status, 1);
  assert.match(n.stderr, /^edgeq: error: .*model\.edgeq.*(EDGQ|identifier)/);
  const v = edgeq('run', compileOnce(), '--tokenizer', model('tok105.bin'));
  assert.is(v.status, 1);
  assert.match(v.stderr, /tok105\.bin has 105 tokens but bundle .* has a vocabulary of 512/);
});

test('cleanup', () => { rmSync(tmp, { recursive: true, force: true }); });

test.run();
