// Issue 12: integrity by default (the manifest's sha256 checked before a bundle is used, by
// run and verify alike), runtime.wasm that is not WebAssembly refused as bad input (not
// "[object Object]", exit 70), a private key refused as --trust, a vocabulary of 1 refused
// at import, and a prompt longer than the positions run cut with a warning.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importLlama2c } from '../compiler/import/llama2c.ts';
import { loadWeights } from '../compiler/import/graph.ts';
import { Tokenizer } from '../compiler/import/tokenizer.ts';
import { quantizeInt8 } from '../compiler/quantize/int8.ts';
import { lowerInt8 } from '../compiler/lower/program.ts';
import { emitArtifact } from '../compiler/emit/from-quant.ts';
import { cli } from './helpers/cli.ts';
import { stories260KBundle } from './helpers/bundle.ts';
import { llama2cLayout } from '../compiler/import/llama2c-format.ts';
import { samplerQ16 } from '../compiler/engines/int-engines.ts';
import { haveModels, model } from './helpers/models.ts';

const tmp = mkdtempSync(join(tmpdir(), 'edgeq-integrity-'));
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** A bundle with a real stories260K model.edgeq, `wasm` as runtime.wasm and a manifest listing both hashes. */
let artifact: Uint8Array | undefined;
function bundle(name: string, wasm: Uint8Array = new Uint8Array(0)): string {
  artifact ??= (() => {
    const q = quantizeInt8(loadWeights(importLlama2c(model('stories260K.bin'))));
    return emitArtifact({
      model: q, program: lowerInt8(q), target: { name: 'wasm32', simd: true }, plan: { kind: 'uniform', bits: 8 },
      tokenizer: Tokenizer.load(model('tok512.bin')), sourceSha256: new Uint8Array(32), sourcePath: 'stories260K.bin', vectors: 0,
    });
  })();
  const dir = join(tmp, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'model.edgeq'), artifact);
  writeFileSync(join(dir, 'runtime.wasm'), wasm);
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({
    format: 'edgeq-bundle', files: { 'model.edgeq': { size: artifact.length, sha256: sha(artifact) }, 'runtime.wasm': { size: wasm.length, sha256: sha(wasm) } },
  }, null, 2));
  return dir;
}

test('a one-bit change anywhere in model.edgeq is refused by run and verify (manifest sha256), naming the file', async () => {
  if (!haveModels) return;
  const b = bundle('flip');
  const orig = readFileSync(join(b, 'model.edgeq'));
  // Ten places across the file: header, tokenizer scores, scales, names, weights, the end.
  for (let k = 0; k < 10; k++) {
    const at = Math.floor((orig.length - 1) * k / 9);
    const bad = Buffer.from(orig);
    bad[at] ^= 1 << (k % 8);
    writeFileSync(join(b, 'model.edgeq'), bad);
    for (const args of [['run', b, '--positions', '2'], ['verify', b, '--engines', 'v8-simd']]) {
      const r = await cli(args);
      assert.is(r.status, 1, `${args[0]}, byte ${at}: ${r.stderr}${r.stdout}`);
      assert.match(r.stderr, /model\.edgeq: sha256 [0-9a-f]+… differs from the [0-9a-f]+… that .*manifest\.json lists/);
    }
  }
});

test('an empty or garbage runtime.wasm is exit 1 naming it (run and verify), never "[object Object]"', async () => {
  if (!haveModels) return;
  for (const [name, wasm] of [['empty', new Uint8Array(0)], ['garbage', Uint8Array.from({ length: 300 }, (_, i) => (i * 37) & 255)]] as const) {
    const b = bundle(`rt-${name}`, wasm);
    for (const args of [['run', b, '--positions', '2'], ['verify', b, '--engines', 'v8-simd']]) {
      const r = await cli(args);
      assert.is(r.status, 1, `${args[0]} ${name}: ${r.stderr}${r.stdout}`);
      assert.match(r.stderr, /runtime\.wasm: not a valid WebAssembly module/);
      assert.not.match(r.stderr + r.stdout, /object Object/);
    }
  }
});

test('--trust refuses a private key', async () => {
  if (!haveModels) return;
  const k = await cli(['keygen', '-o', join(tmp, 'k')]);
  assert.is(k.status, 0, k.stderr);
  const r = await cli(['run', bundle('trust'), '--trust', join(tmp, 'k.key'), '--positions', '2']);
  assert.is(r.status, 1, r.stderr);
  assert.match(r.stderr, /k\.key: is a PRIVATE key; --trust takes the public key/);
});

test('a checkpoint with a vocabulary of 1 is refused at import (exit 1, not 70)', async () => {
  const h = Buffer.alloc(28);
  [8, 16, 1, 2, 2, 1, 4].forEach((v, i) => h.writeInt32LE(v, 4 * i));
  writeFileSync(join(tmp, 'v1.bin'), h);
  const r = await cli(['inspect', join(tmp, 'v1.bin')]);
  assert.is(r.status, 1, r.stderr);
  assert.match(r.stderr, /vocab_size must be at least 3/);
});

test('a prompt longer than the positions run is cut with a warning', async () => {
  if (!haveModels) return;
  const r = await cli(['run', model('stories260K.bin'), '--tokenizer', model('tok512.bin'), '--prompt', 'Once upon a time there was a little girl', '--positions', '4', '--temperature', '0']);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stderr, /warning: the prompt is \d+ tokens \(with BOS\) but only 4 positions run \(--positions 4\): it is cut to 4 and no new token is generated/);
  const ok = await cli(['run', model('stories260K.bin'), '--tokenizer', model('tok512.bin'), '--prompt', 'Once', '--positions', '8', '--temperature', '0']);
  assert.not.match(ok.stderr, /warning: the prompt/, ok.stderr);
});

test('sampler values the Q16 integer sampler cannot hold are refused on every engine (exit 2), the limits accepted', async () => {
  if (!haveModels) return;
  const base = ['run', model('stories260K.bin'), '--tokenizer', model('tok512.bin'), '--positions', '3'];
  for (const engine of ['reference', 'int-reference']) {
    for (const [flag, v, says] of [['--temperature', '32768', /at most|\[2\^-16, 32767\]/], ['--temperature', '65536', /32767/], ['--temperature', '1e30', /32767/],
      ['--temperature', '1e-6', /below 2\^-16/], ['--topp', '1e-6', /--topp 0\.000001 is below 2\^-16/]] as const) {
      const r = await cli([...base, '--engine', engine, flag, v]);
      assert.is(r.status, 2, `${engine} ${flag} ${v}: ${r.stderr}`);
      assert.match(r.stderr, says);
    }
    const ok = await cli([...base, '--engine', engine, '--temperature', '32767', '--topp', String(2 ** -16)]);
    assert.is(ok.status, 0, ok.stderr);
  }
  assert.throws(() => samplerQ16(32768, 0.9), /32767/);
  assert.equal(samplerQ16(32767, 1), { temperatureQ: 32767 * 65536, toppQ: 65536 });
});

test('one engine vocabulary: old spellings still work, with a deprecation line naming the new word', async () => {
  if (!haveModels) return;
  const base = ['run', model('stories260K.bin'), '--tokenizer', model('tok512.bin'), '--positions', '6', '--temperature', '0'];
  for (const [old, now] of [['reference', 'reference-float'], ['int-reference', 'reference-int']]) {
    const a = await cli([...base, '--engine', old]);
    const b = await cli([...base, '--engine', now]);
    assert.is(a.status, 0, a.stderr);
    assert.is(a.stdout, b.stdout);
    assert.match(a.stderr, new RegExp(`--engine ${old} is deprecated; it means ${now}`));
    assert.not.match(b.stderr, /deprecated/);
  }
  const f = await cli(['finetune', '--help']);
  assert.match(f.stdout, /reference-int/);
});

test('eval refuses a float reference whose arithmetic overflows (was "KL 0.000000, ppl NaN", exit 0)', async () => {
  if (!haveModels) return;
  const g = importLlama2c(model('stories260K.bin'));
  const region = llama2cLayout(g.config, 'v0').regions.find((r) => r.name === 'rms_final')!;
  const bytes = Buffer.from(readFileSync(model('stories260K.bin')));
  for (let i = 0; i < region.bytes; i += 4) bytes.writeFloatLE(3e38, region.byteOffset + i); // finite, but x·w overflows
  writeFileSync(join(tmp, 'overflow.bin'), bytes);
  writeFileSync(join(tmp, 'text.txt'), 'Once upon a time there was a girl.\n');
  const b = await stories260KBundle();
  const r = await cli(['eval', b, '--reference', join(tmp, 'overflow.bin'), '--text', join(tmp, 'text.txt'), '--tokens', '8']);
  assert.is(r.status, 1, r.stderr + r.stdout);
  assert.match(r.stderr, /overflow\.bin: the float reference gave a non-finite logit/);
  assert.is(r.stdout, '');
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));
test.run();
