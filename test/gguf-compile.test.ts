// tier: slow
// Done-when of issue 14 for llama.cpp's own file: llama-2-tiny-random.gguf compiles and its
// bundle passes edgeq verify (v8 engines here; `--engines all` measured in
// docs/model-sources.md), a GGUF Q8_0 / HF BF16 copy of stories260K compiles and verifies,
// and so does a copy with another RoPE θ, RMSNorm ε and Llama-3 frequency factors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { model } from './helpers/models.ts';
import { cli } from './helpers/cli.ts';
import { openModel } from '../compiler/import/open-model.ts';
import { writeGraphGguf } from '../compiler/import/gguf/gguf-write.ts';
import { writeGraphHf } from '../compiler/import/hf/hf-write.ts';
import { readArtifact } from '../compiler/emit/artifact.ts';

const dir = mkdtempSync(join(tmpdir(), 'edgeq-gguf-compile-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

async function compileAndVerify(src: string, tokenizer: string, out: string) {
  const c = await cli(['compile', src, '--target', 'wasm32', '-o', out, '--tokenizer', tokenizer]);
  assert.is(c.status, 0, c.stderr);
  const v = await cli(['verify', out, '--engines', 'v8-simd,v8-scalar']);
  assert.is(v.status, 0, v.stdout + v.stderr);
  assert.match(v.stdout, /OK: 2 passed, 0 failed/);
}

test('llama-2-tiny-random.gguf (llama.cpp) compiles and verifies', async () => {
  await compileAndVerify(model('gguf/llama-2-tiny-random.gguf'), model('tokenizer-llama2-32k.bin'), join(dir, 'tiny'));
});

test('stories260K as GGUF Q8_0 and as HF BF16 compile and verify', async () => {
  const g = openModel(model('stories260K.bin'));
  writeGraphGguf(join(dir, 's.gguf'), g, 'Q8_0');
  writeGraphHf(join(dir, 's-hf'), g, 'BF16');
  await compileAndVerify(join(dir, 's.gguf'), model('tok512.bin'), join(dir, 'b-gguf'));
  await compileAndVerify(join(dir, 's-hf'), model('tok512.bin'), join(dir, 'b-hf'));
});

test('a model with θ = 100000, ε = 1e-6 and llama3 frequency factors (HF) runs on the float reference and compiles to a bundle that verifies', async () => {
  const d = join(dir, 'theta-hf');
  writeGraphHf(d, openModel(model('stories260K.bin')), 'F32');
  const p = join(d, 'config.json');
  writeFileSync(p, JSON.stringify({
    ...JSON.parse(readFileSync(p, 'utf8')), rope_theta: 100000, rms_norm_eps: 1e-6,
    rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 },
  }));
  const r = await cli(['run', d, '--engine', 'reference', '--temperature', '0', '--positions', '24', '--tokenizer', model('tok512.bin')]);
  assert.is(r.status, 0, r.stderr);
  assert.ok(r.stdout.length > 0);
  await compileAndVerify(d, model('tok512.bin'), join(dir, 'b-theta'));
  const c = readArtifact(readFileSync(join(dir, 'b-theta', 'model.edgeq'))).config;
  assert.is(c.ropeTheta, 100000);
  assert.is(c.rmsNormEps, 1e-6);
  assert.is(c.ropeFreqFactors!.length, 4);
});

test.run();
