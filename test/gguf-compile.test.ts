// tier: slow
// Done-when of issue 14 for llama.cpp's own file: llama-2-tiny-random.gguf compiles and its
// bundle passes edgeq verify (v8 engines here; `--engines all` measured in
// docs/model-sources.md), and a GGUF Q8_0 / HF BF16 copy of stories260K compiles and verifies.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { model } from './helpers/models.ts';
import { cli } from './helpers/cli.ts';
import { openModel } from '../compiler/import/open-model.ts';
import { writeGraphGguf } from '../compiler/import/gguf/gguf-write.ts';
import { writeGraphHf } from '../compiler/import/hf/hf-write.ts';

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

test.run();
