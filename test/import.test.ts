// llama2.c import: real v0 checkpoints, v0 <-> v1 equivalence, and one test per kind of
// malformed file, each checking that the message names the file, the byte offset and
// the problem (the user gets nothing else to go on).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, truncateSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { model } from './helpers/models.ts';
import { importLlama2c } from '../compiler/import/llama2c.ts';
import { checkFinite } from '../compiler/import/finite.ts';
import { writeGraphLlama2c, writeLlama2c } from '../compiler/import/llama2c-write.ts';
import { llama2cLayout } from '../compiler/import/llama2c-format.ts';
import { loadWeights, type Graph, type ModelConfig } from '../compiler/import/graph.ts';
import { synthSource } from '../compiler/synth/weights.ts';
import { FloatTransformer } from '../compiler/reference/float/forward.ts';
import { EdgeqError } from '../compiler/util/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'edgeq-import-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

// Small but complete: GQA (4 heads, 2 kv heads), even head size 4.
const TINY: ModelConfig = { dim: 16, hiddenDim: 40, nLayers: 2, nHeads: 4, nKvHeads: 2, vocabSize: 20, seqLen: 8, sharedClassifier: true };
let n = 0;
function tiny(format: 'v0' | 'v1', over: Partial<ModelConfig> = {}): string {
  const c = { ...TINY, ...over };
  const p = join(dir, `t${n++}-${format}.bin`);
  writeLlama2c(p, c, synthSource(c, 5), { format });
  return p;
}
const poke = (p: string, offset: number, write: (b: Buffer) => void) => {
  const b = readFileSync(p);
  write(b.subarray(offset));
  writeFileSync(p, b);
};
const pokeI32 = (p: string, offset: number, v: number) => poke(p, offset, (b) => b.writeInt32LE(v, 0));
const pokeF32 = (p: string, offset: number, v: number) => poke(p, offset, (b) => b.writeFloatLE(v, 0));

/** Asserts `fn` throws an EdgeqError naming `file` at byte `offset` whose text matches every pattern. */
function fails(fn: () => unknown, file: string, offset: number | undefined, ...patterns: RegExp[]) {
  try { fn(); } catch (e) {
    if (!(e instanceof EdgeqError)) throw e;
    assert.is(e.file, file, e.message);
    assert.is(e.offset, offset, e.message);
    assert.ok(e.message.startsWith(`${file}${offset === undefined ? '' : ` at byte ${offset}`}: `), e.message);
    for (const re of patterns) assert.match(e.message, re);
    assert.not.match(e.message, /\n/);
    return;
  }
  assert.unreachable('expected an EdgeqError');
}

// ---- real checkpoints ----

test('stories260K.bin (v0) imports with the config PROVENANCE.md gives', () => {
  const g = importLlama2c(model('stories260K.bin'));
  assert.equal(g.config, { dim: 64, hiddenDim: 172, nLayers: 5, nHeads: 8, nKvHeads: 4, vocabSize: 512, seqLen: 512, sharedClassifier: true });
  assert.is(g.source.format, 'llama2c-v0');
  assert.is(g.source.bytes, 1056540);
  assert.is(g.tensors.size, 1 + 9 * 5 + 1 + 1);
  assert.is(g.tensors.get('tok_embeddings')!.byteOffset, 28);
  assert.is(g.tensors.get('wcls')!.byteOffset, 28); // shared classifier = the embedding's bytes
  assert.equal(g.tensors.get('blocks.4.wk')!.shape, [32, 64]);
  assert.equal([...g.tensors.keys()].slice(0, 4), ['tok_embeddings', 'blocks.0.rms_att', 'blocks.0.wq', 'blocks.0.wk']);
  assert.equal(checkFinite(g), { tensors: 47, values: 260032 });
});

test('babyllama936K.bin (v0) imports with the config PROVENANCE.md gives', () => {
  const g = importLlama2c(model('babyllama936K.bin'), { checkFinite: true });
  assert.equal(g.config, { dim: 128, hiddenDim: 352, nLayers: 5, nHeads: 8, nKvHeads: 4, vocabSize: 105, seqLen: 256, sharedClassifier: true });
  const rmsFinal = g.tensors.get('rms_final')!.read();
  assert.is(rmsFinal.length, 128);
  const r = g.tensors.get('blocks.2.w2')!;
  assert.equal(r.readRange!(1000, 10), r.read().subarray(1000, 1010));
});

const sameTensors = (a: Graph, b: Graph) => {
  assert.equal([...a.tensors.keys()], [...b.tensors.keys()]);
  for (const [name, t] of a.tensors) {
    assert.equal(t.shape, b.tensors.get(name)!.shape, name);
    assert.ok(Buffer.from(t.read().buffer).equals(Buffer.from(b.tensors.get(name)!.read().buffer)), `${name} differs`);
  }
};

test('real v0 re-written by the v0 writer: same bytes (RoPE tables within 1 ulp)', () => {
  const src = model('stories260K.bin');
  const out = join(dir, 'rt-v0.bin');
  writeGraphLlama2c(out, importLlama2c(src), { format: 'v0' });
  const a = readFileSync(src), b = readFileSync(out);
  assert.is(b.length, a.length);
  const rope = llama2cLayout(importLlama2c(src).config, 'v0').regions.find((r) => r.name === 'freq_cis_real')!.byteOffset;
  assert.ok(a.subarray(0, rope).equals(b.subarray(0, rope)), 'header and weights identical');
  // llama2.c's tables come from PyTorch's float32 cos/sin, ours from V8's correctly rounded double ones.
  const fa = new Int32Array(a.buffer.slice(a.byteOffset + rope, a.byteOffset + a.length));
  const fb = new Int32Array(b.buffer.slice(b.byteOffset + rope, b.byteOffset + b.length));
  for (let i = 0; i < fa.length; i++) assert.ok(Math.abs(fa[i] - fb[i]) <= 1, `RoPE table value ${i}`);
});

test('real v0 converted to v1: identical tensors and identical logits', () => {
  const v0 = importLlama2c(model('stories260K.bin'));
  const out = join(dir, 'rt-v1.bin');
  writeGraphLlama2c(out, v0, { format: 'v1' });
  const v1 = importLlama2c(out);
  assert.is(v1.source.format, 'llama2c-v1');
  assert.is(v1.source.bytes, 256 + 260032 * 4);
  assert.equal(v1.config, v0.config);
  sameTensors(v0, v1);
  const t0 = new FloatTransformer(loadWeights(v0)), t1 = new FloatTransformer(loadWeights(v1));
  for (const [pos, tok] of [1, 403, 261, 7].entries()) {
    assert.equal(t1.forward(tok, pos).slice(), t0.forward(tok, pos).slice(), `logits at pos ${pos}`);
  }
});

test('unshared classifier round-trips through v0 (negative vocab) and v1 (flag byte)', () => {
  const a = tiny('v0', { sharedClassifier: false });
  const b = tiny('v1', { sharedClassifier: false });
  assert.is(readFileSync(a).readInt32LE(20), -20);
  assert.is(readFileSync(b)[36], 0);
  const ga = importLlama2c(a), gb = importLlama2c(b);
  assert.is(ga.config.sharedClassifier, false);
  assert.is(gb.config.vocabSize, 20);
  assert.is.not(ga.tensors.get('wcls')!.byteOffset, ga.tensors.get('tok_embeddings')!.byteOffset);
  sameTensors(ga, gb);
  assert.is(ga.source.bytes, llama2cLayout(ga.config, 'v0').totalBytes);
});

test('a failing writer leaves neither the file nor a temporary behind', () => {
  const p = join(dir, 'sub', 'never.bin');
  assert.throws(() => writeLlama2c(p, TINY, (name) => { if (name === 'blocks.1.wq') throw new Error('boom'); return synthSource(TINY, 1)(name, []); }, { format: 'v1' }), /boom/);
  assert.equal(readdirSync(join(dir, 'sub')), []);
});

// ---- malformed headers ----

test('empty and too-short files', () => {
  const p = join(dir, 'empty.bin');
  writeFileSync(p, Buffer.alloc(0));
  fails(() => importLlama2c(p), p, 0, /file is 0 bytes/, /28 bytes/);
  const q = tiny('v0');
  truncateSync(q, 10);
  fails(() => importLlama2c(q), q, 10, /file is 10 bytes, shorter than the 28-byte llama2.c v0 header/);
  const r = tiny('v1');
  truncateSync(r, 100);
  fails(() => importLlama2c(r), r, 100, /file is 100 bytes, shorter than the 256-byte llama2.c v1 header/);
});

test('unknown v1 version', () => {
  const p = tiny('v1');
  pokeI32(p, 4, 2);
  fails(() => importLlama2c(p), p, 4, /unsupported llama2.c checkpoint version 2/, /Q8_0/, /expected 1/);
  pokeI32(p, 4, 77);
  fails(() => importLlama2c(p), p, 4, /version 77/);
});

test('zero and negative dimensions name the field and its offset', () => {
  const p = tiny('v0');
  pokeI32(p, 0, 0);
  fails(() => importLlama2c(p), p, 0, /dim must be a positive integer, got 0/);
  const q = tiny('v1');
  pokeI32(q, 8 + 2 * 4, -3);
  fails(() => importLlama2c(q), q, 16, /v1 header field n_layers/, /got -3/);
  const r = tiny('v0');
  pokeI32(r, 6 * 4, 0);
  fails(() => importLlama2c(r), r, 24, /max_seq_len must be a positive integer, got 0/);
  const s = tiny('v1');
  pokeI32(s, 8 + 5 * 4, -20);
  fails(() => importLlama2c(s), s, 28, /vocab_size must be a positive integer in a v1 header, got -20/);
});

test('head structure: n_heads | dim, n_kv_heads | n_heads, kv <= heads, even head size', () => {
  const p = tiny('v0');
  pokeI32(p, 12, 3);
  fails(() => importLlama2c(p), p, 12, /n_heads 3 does not divide dim 16/);
  const q = tiny('v1');
  pokeI32(q, 8 + 4 * 4, 3);
  fails(() => importLlama2c(q), q, 24, /n_kv_heads 3 does not divide n_heads 4/);
  const r = tiny('v0');
  pokeI32(r, 16, 8);
  fails(() => importLlama2c(r), r, 16, /n_kv_heads 8 exceeds n_heads 4/);
  const s = tiny('v0');
  pokeI32(s, 0, 12); // head size 12/4 = 3
  fails(() => importLlama2c(s), s, 12, /head size .* = 3 is odd/, /RoPE/);
});

test('absurd sizes are refused before any arithmetic on them', () => {
  const p = tiny('v0');
  pokeI32(p, 20, 2_000_000_000);
  fails(() => importLlama2c(p), p, 20, /vocab_size 2000000000 is implausibly large/);
  const q = tiny('v1');
  pokeI32(q, 8, 0x7fffffff);
  fails(() => importLlama2c(q), q, 8, /dim 2147483647 is implausibly large/);
});

test('v1 shared-classifier flag must be 0 or 1', () => {
  const p = tiny('v1');
  poke(p, 36, (b) => { b[0] = 7; });
  fails(() => importLlama2c(p), p, 36, /shared_classifier flag is 7; expected 0 or 1/);
});

test('a GGUF file is named as such', () => {
  const p = join(dir, 'model.gguf');
  writeFileSync(p, Buffer.concat([Buffer.from('GGUF'), Buffer.alloc(60)]));
  fails(() => importLlama2c(p), p, 0, /GGUF/);
});

// ---- file size vs header ----

test('missing bytes: expected vs actual and the tensor the file ends in', () => {
  const p = tiny('v1');
  const want = readFileSync(p).length;
  truncateSync(p, want - 100);
  fails(() => importLlama2c(p), p, want - 100, new RegExp(`file is ${want - 100} bytes but its v1 header .* implies ${want} bytes: 100 bytes missing`), /ends inside blocks\.1\.w3/);
});

test('extra bytes after the last tensor', () => {
  const p = tiny('v0');
  const want = readFileSync(p).length;
  appendFileSync(p, Buffer.alloc(4));
  fails(() => importLlama2c(p), p, want, /4 unexpected bytes after the last tensor/, new RegExp(`implies ${want} bytes`));
});

test('v0: a size that fits the other sign of vocab_size says so', () => {
  const p = tiny('v0', { sharedClassifier: false });
  pokeI32(p, 20, 20); // flip to "shared" although wcls is present
  fails(() => importLlama2c(p), p, llama2cLayout(TINY, 'v0').totalBytes, /unexpected bytes/, /fits a separate classifier \(wcls\), but vocab_size is positive/);
  const q = tiny('v0');
  pokeI32(q, 20, -20);
  const full = llama2cLayout({ ...TINY, sharedClassifier: false }, 'v0').totalBytes;
  fails(() => importLlama2c(q), q, full - 20 * 16 * 4, /bytes missing/, /fits a shared classifier, but vocab_size is negative/);
});

// ---- non-finite weights ----

test('NaN: found on read and by the streaming check, with tensor, element and offset', () => {
  const p = tiny('v0');
  const wk = importLlama2c(p).tensors.get('blocks.1.wk')!;
  const at = wk.byteOffset + 5 * 4;
  pokeF32(p, at, NaN);
  const g = importLlama2c(p); // header and size are fine
  fails(() => g.tensors.get('blocks.1.wk')!.read(), p, at, /weight blocks\.1\.wk\[5\] is NaN/, /non-finite/);
  fails(() => g.tensors.get('blocks.1.wk')!.readRange!(4, 3), p, at, /blocks\.1\.wk\[5\]/);
  g.tensors.get('blocks.1.wk')!.readRange!(6, 10); // the other elements are fine
  fails(() => checkFinite(g), p, at, /blocks\.1\.wk\[5\] is NaN/);
  fails(() => importLlama2c(p, { checkFinite: true }), p, at, /NaN/);
  fails(() => loadWeights(g), p, at, /NaN/);
});

test('+Inf and -Inf in v1, including in the (shared) embedding', () => {
  const p = tiny('v1');
  const emb = importLlama2c(p).tensors.get('tok_embeddings')!;
  const at = emb.byteOffset + (3 * 16 + 2) * 4;
  pokeF32(p, at, Infinity);
  fails(() => checkFinite(importLlama2c(p)), p, at, /tok_embeddings\[50\] is Infinity/);
  fails(() => importLlama2c(p).tensors.get('wcls')!.read(), p, at, /Infinity/);
  const q = tiny('v1');
  const last = readFileSync(q).length - 4; // last element of blocks.1.w3 (shared classifier)
  pokeF32(q, last, -Infinity);
  fails(() => checkFinite(importLlama2c(q)), q, last, /blocks\.1\.w3\[639\] is -Infinity/);
});

test.run();
