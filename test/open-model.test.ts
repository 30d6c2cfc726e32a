// openModel: detection by content (not name), path checks that refuse at once, and the
// GGUF llama reader on llama.cpp's own file (shapes, tied classifier, spec, refusals).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { model } from './helpers/models.ts';
import { openModel } from '../compiler/import/open-model.ts';
import { readGguf } from '../compiler/import/gguf/gguf-file.ts';
import { halfToFloat } from '../compiler/import/gguf/ggml-dequant.ts';
import { EdgeqError } from '../compiler/util/errors.ts';

const TINY = model('gguf/llama-2-tiny-random.gguf');
const dir = mkdtempSync(join(tmpdir(), 'edgeq-open-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function fails(fn: () => unknown, file: string, ...patterns: RegExp[]) {
  try { fn(); } catch (e) {
    if (!(e instanceof EdgeqError)) throw e;
    assert.is(e.file, file, e.message);
    for (const re of patterns) assert.match(e.message, re);
    assert.not.match(e.message, /\n/);
    return;
  }
  assert.unreachable('expected an EdgeqError');
}

test('detection is by content: a GGUF named .bin and a llama2.c file named .gguf', () => {
  const a = join(dir, 'looks-like-llama2c.bin'), b = join(dir, 'looks-like.gguf');
  copyFileSync(TINY, a);
  copyFileSync(model('stories260K.bin'), b);
  assert.is(openModel(a).source.format, 'gguf');
  assert.is(openModel(b).source.format, 'llama2c-v0');
});

test('llama-2-tiny-random.gguf: config from its metadata, separate classifier, llama2.c spec', () => {
  const g = openModel(TINY);
  // README: dim 8, 1 block, 2 heads, FFN 32, context 4096, 32k vocab; output.weight present.
  assert.equal(g.config, { dim: 8, hiddenDim: 32, nLayers: 1, nHeads: 2, nKvHeads: 2, vocabSize: 32000, seqLen: 4096, sharedClassifier: false });
  assert.is(g.spec!.ropeTheta, 10000); // no rope.freq_base key: llama.cpp's default
  assert.is(Math.fround(g.spec!.normEps), Math.fround(1e-5));
  assert.is(g.spec!.ropeLayout, 'interleaved');
  assert.equal(g.tensors.get('blocks.0.w2')!.shape, [8, 32]); // ffn_down: GGUF dims [32, 8]
  assert.equal(g.tensors.get('tok_embeddings')!.shape, [32000, 8]);
  // Row-major: element [r, c] is the r-th run of 8 halves in the file (dims innermost first).
  const gg = readGguf(TINY), t = gg.tensor('token_embd.weight')!;
  const raw = gg.readTensorBytes(t, 2 * 8 * 5, 16); // row 5
  const row5 = g.tensors.get('tok_embeddings')!.readRange!(8 * 5, 8);
  for (let i = 0; i < 8; i++) assert.is(row5[i], halfToFloat(raw[2 * i] | (raw[2 * i + 1] << 8)));
  assert.is(g.tensors.get('wcls')!.read().length, 256000);
});

test('paths are checked first: missing, directory, FIFO, character device', () => {
  fails(() => openModel(join(dir, 'nope.gguf')), join(dir, 'nope.gguf'), /no such file \(expected a model/);
  const d = join(dir, 'empty-dir');
  mkdirSync(d);
  fails(() => openModel(d), d, /is a directory that holds no model edgeq reads/, /config\.json/);
  const fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  fails(() => openModel(fifo), fifo, /is a FIFO \(named pipe\); a model must be a regular file or a model directory/);
  fails(() => openModel('/dev/zero'), '/dev/zero', /is a character device/);
});

test('GGUF refusals: other architecture, vocabulary-only file', () => {
  const phi3 = model('gguf/vocab/ggml-vocab-phi-3.gguf');
  fails(() => openModel(phi3), phi3, /general\.architecture is 'phi3'; edgeq reads: llama/);
  const spm = model('gguf/vocab/ggml-vocab-llama-spm.gguf');
  fails(() => openModel(spm), spm, /no tensor token_embd\.weight \(is it a vocabulary-only file\?\)/);
});

test.run();
