// openModel: detection by content (not name), path checks that refuse at once, and the
// GGUF llama reader on llama.cpp's own file (shapes, tied classifier, spec, refusals).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { model } from './helpers/models.ts';
import { openModel } from '../compiler/import/open-model.ts';
import { readGguf } from '../compiler/import/gguf/gguf-file.ts';
import { writeGraphGguf } from '../compiler/import/gguf/gguf-write.ts';
import { halfToFloat } from '../compiler/import/gguf/ggml-dequant.ts';
import { checkTrust } from '../compiler/engines/trust.ts';
import { writeLlama2c } from '../compiler/import/llama2c-write.ts';
import { synthSource } from '../compiler/synth/weights.ts';
import { fails } from './helpers/expect-error.ts';

const TINY = model('gguf/llama-2-tiny-random.gguf');
const dir = mkdtempSync(join(tmpdir(), 'edgeq-open-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

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
  fails(() => openModel(join(dir, 'nope.gguf')), join(dir, 'nope.gguf'), /no such file or directory \(expected a model/);
  const d = join(dir, 'empty-dir');
  mkdirSync(d);
  fails(() => openModel(d), d, /is a directory that holds no model edgeq reads/, /config\.json/);
  const fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  fails(() => openModel(fifo), fifo, /is a FIFO \(named pipe\), expected a model \(a checkpoint file or a model directory\)/);
  fails(() => openModel('/dev/zero'), '/dev/zero', /is a character device/);
});

test('issue 14 item 6: /proc file with size 0, vocabulary of 1, FIFO and /dev/zero as --trust key', () => {
  fails(() => openModel('/proc/self/environ'), '/proc/self/environ', /reports a size of 0 bytes but has content/);
  const p = join(dir, 'vocab1.bin');
  const c = { dim: 16, hiddenDim: 40, nLayers: 1, nHeads: 4, nKvHeads: 2, vocabSize: 3, seqLen: 8, sharedClassifier: true };
  writeLlama2c(p, c, synthSource(c, 5), { format: 'v1' });
  const b = readFileSync(p);
  b.writeInt32LE(1, 28); // v1 vocab_size
  writeFileSync(p, b);
  fails(() => openModel(p), p, /vocab_size must be at least 3 \(llama2.c reserves 0 <unk>, 1 <s>, 2 <\/s>\), got 1/);
  const fifo = join(dir, 'fifo-key');
  execFileSync('mkfifo', [fifo]);
  fails(() => checkTrust(dir, fifo), fifo, /is a FIFO \(named pipe\), expected a PEM public key \(a regular file\)/);
  fails(() => checkTrust(dir, '/dev/zero'), '/dev/zero', /is a character device/);
});

test('GGUF refusals: other architecture, vocabulary-only file', () => {
  const phi3 = model('gguf/vocab/ggml-vocab-phi-3.gguf');
  fails(() => openModel(phi3), phi3, /general\.architecture is 'phi3'; edgeq reads: llama/);
  const spm = model('gguf/vocab/ggml-vocab-llama-spm.gguf');
  fails(() => openModel(spm), spm, /no tensor token_embd\.weight \(is it a vocabulary-only file\?\)/);
});

test('GGUF refusals: shape disagreeing with metadata, tensor type edgeq does not read', () => {
  const p = join(dir, 's260.gguf');
  writeGraphGguf(p, openModel(model('stories260K.bin')), 'F32');
  const g = readGguf(p);
  const key = 'llama.feed_forward_length';
  const b = readFileSync(p);
  b.writeUInt32LE(176, g.metadataOffsets.get(key)! + 8 + key.length + 4);
  const q = join(dir, 's260-ffn.gguf');
  writeFileSync(q, b);
  fails(() => openModel(q), q, /tensor 'blk\.0\.ffn_gate\.weight' has shape \[172, 64\] \(row-major\) but the metadata \(dim 64, hidden 176, .*\) implies \[176, 64\]/);
  const t = g.tensor('blk.0.attn_q.weight')!;
  const c = readFileSync(p);
  c.writeUInt32LE(9, t.infoOffset + 8 + t.name.length + 4 + 8 * t.dims.length); // Q8_1
  const r = join(dir, 's260-q81.gguf');
  writeFileSync(r, c);
  fails(() => openModel(r), r, /tensor 'blk\.0\.attn_q\.weight' has ggml type Q8_1, which edgeq does not read; supported: F32, F16, BF16, Q4_0/);
});

test.run();
