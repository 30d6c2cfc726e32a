// GGUF container reader on files llama.cpp's converter wrote (../shared/models/gguf), and
// one test per kind of damaged file: each message names the file, the byte offset and what
// was expected. Expected values come from the files' README (written from the models'
// cards), from llama.cpp's ggml-common.h (block sizes) and from the Llama-2 vocabulary.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { model } from './helpers/models.ts';
import { readGguf } from '../compiler/import/gguf/gguf-file.ts';
import { GGML_TYPES, ggmlTypeByName } from '../compiler/import/gguf/ggml-types.ts';
import { EdgeqError } from '../compiler/util/errors.ts';
import { failsAt } from './helpers/expect-error.ts';

const TINY = model('gguf/llama-2-tiny-random.gguf');
const VOCAB = (name: string) => model(`gguf/vocab/ggml-vocab-${name}.gguf`);
const dir = mkdtempSync(join(tmpdir(), 'edgeq-gguf-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function damaged(edit: (b: Buffer) => Buffer | void): string {
  const p = join(dir, `d${n++}.gguf`);
  const b = readFileSync(TINY);
  writeFileSync(p, edit(b) ?? b);
  return p;
}

test('ggml block sizes are those of ggml-common.h', () => {
  // sizeof(block_*) from llama.cpp ggml/src/ggml-common.h (commit c392e50).
  const want: Record<string, [number, number]> = {
    F32: [1, 4], F16: [1, 2], BF16: [1, 2], Q4_0: [32, 18], Q4_1: [32, 20], Q5_0: [32, 22], Q5_1: [32, 24],
    Q8_0: [32, 34], Q8_1: [32, 36], Q2_K: [256, 84], Q3_K: [256, 110], Q4_K: [256, 144], Q5_K: [256, 176],
    Q6_K: [256, 210], Q8_K: [256, 292], IQ4_NL: [32, 18], IQ4_XS: [256, 136], IQ2_XXS: [256, 66],
    IQ2_XS: [256, 74], IQ2_S: [256, 82], IQ3_XXS: [256, 98], IQ3_S: [256, 110], IQ1_S: [256, 50], IQ1_M: [256, 56],
    TQ1_0: [256, 54], TQ2_0: [256, 66],
  };
  for (const [name, [elems, bytes]] of Object.entries(want)) {
    const t = ggmlTypeByName(name);
    assert.ok(t, name);
    assert.equal([t!.blockElems, t!.blockBytes], [elems, bytes], name);
  }
  assert.is(new Set(GGML_TYPES.map((t) => t.id)).size, GGML_TYPES.length, 'ids unique');
});

test('llama-2-tiny-random.gguf: header, metadata and tensor infos', () => {
  const g = readGguf(TINY);
  assert.is(g.version, 3);
  assert.is(g.alignment, 32);
  assert.is(g.dataStart % 32, 0);
  assert.is(g.getString('general.architecture'), 'llama');
  assert.is(g.getU32('llama.embedding_length'), 8);
  assert.is(g.getU32('llama.block_count'), 1);
  assert.is(g.getU32('llama.attention.head_count'), 2);
  assert.is(g.getU32('llama.feed_forward_length'), 32);
  assert.is(g.getU32('llama.context_length'), 4096);
  assert.ok(Math.abs(g.getFloat('llama.attention.layer_norm_rms_epsilon') - 1e-5) < 1e-10);
  const tokens = g.getStringArray('tokenizer.ggml.tokens');
  assert.is(tokens.length, 32000);
  assert.equal(tokens.slice(0, 3), ['<unk>', '<s>', '</s>']);
  assert.is(tokens[3], '<0x00>'); // SentencePiece byte-fallback pieces follow the specials
  assert.is(g.getNumberArray('tokenizer.ggml.scores').length, 32000);
  assert.is(g.getNumberArray('tokenizer.ggml.token_type')[1], 3); // CONTROL
  const emb = g.tensor('token_embd.weight')!;
  assert.equal(emb.dims, [8, 32000]);
  assert.equal(emb.shape, [32000, 8]);
  assert.is(emb.type.name, 'F16');
  assert.is(emb.nBytes, 32000 * 8 * 2);
  assert.is(g.tensor('blk.0.attn_norm.weight')!.type.name, 'F32');
  assert.equal(g.tensor('blk.0.ffn_down.weight')!.dims, [32, 8]);
  assert.is(g.tensors.length, 12);
  // Tensors are packed in order, each aligned; the last ends at the end of the file.
  const last = g.tensors[g.tensors.length - 1];
  assert.is(last.fileOffset + last.nBytes, g.fileBytes);
  for (const t of g.tensors) assert.is(t.offset % g.alignment, 0, t.name);
  // First F16 value read back raw: a finite half (random weights, not all zero).
  const raw = g.readTensorBytes(emb, 0, 16);
  assert.is(raw.length, 16);
});

test('vocabulary-only GGUFs: llama-spm, gpt-2, phi-3', () => {
  const spm = readGguf(VOCAB('llama-spm'));
  assert.is(spm.tensors.length, 0);
  assert.is(spm.getString('tokenizer.ggml.model'), 'llama');
  assert.is(spm.getBool('tokenizer.ggml.add_bos_token'), true);
  assert.is(spm.getU32('tokenizer.ggml.bos_token_id'), 1);
  const gpt2 = readGguf(VOCAB('gpt-2'));
  assert.is(gpt2.getString('tokenizer.ggml.model'), 'gpt2');
  assert.is(gpt2.getString('tokenizer.ggml.pre'), 'gpt-2');
  assert.is(gpt2.getStringArray('tokenizer.ggml.tokens').length, 50257);
  assert.is(gpt2.getStringArray('tokenizer.ggml.merges').length, 50000);
  assert.is(gpt2.getStringArray('tokenizer.ggml.merges')[0], 'Ġ t');
  const phi3 = readGguf(VOCAB('phi-3'));
  assert.is(phi3.getString('general.architecture'), 'phi3');
  assert.is(phi3.getFloat('phi3.rope.freq_base'), 10000);
  assert.is(phi3.getU32('tokenizer.ggml.eos_token_id'), 32000);
  assert.match(phi3.getString('tokenizer.chat_template'), /<\|assistant\|>/);
});

test('getters: fallback, missing key, wrong type', () => {
  const g = readGguf(TINY);
  assert.is(g.getFloat('llama.rope.freq_base', 10000), 10000);
  assert.throws(() => g.getU32('llama.rope.freq_base'), /no key 'llama\.rope\.freq_base' \(expected an integer/);
  failsAt(() => g.getU32('general.architecture'), TINY, g.metadataOffsets.get('general.architecture'),
    /'general\.architecture' is string llama; expected an integer/);
  failsAt(() => g.getStringArray('tokenizer.ggml.scores'), TINY, g.metadataOffsets.get('tokenizer.ggml.scores'),
    /is array of f32 32000 items; expected an array of strings/);
});

// ---- damaged files ----

test('wrong magic', () => {
  const p = damaged((b) => { b.write('GGUX', 0, 'latin1'); });
  failsAt(() => readGguf(p), p, 0, /not a GGUF file: magic is "GGUX".*expected "GGUF"/);
});

test('version 1, big-endian, and an unknown version', () => {
  let p = damaged((b) => { b.writeUInt32LE(1, 4); });
  failsAt(() => readGguf(p), p, 4, /GGUF v1 is obsolete/, /supported versions: 2, 3/);
  p = damaged((b) => { b.writeUInt32BE(3, 4); });
  failsAt(() => readGguf(p), p, 4, /big-endian GGUF v3/);
  p = damaged((b) => { b.writeUInt32LE(9, 4); });
  failsAt(() => readGguf(p), p, 4, /unsupported GGUF version 9/);
});

test('absurd counts and lengths are refused before allocating', () => {
  let p = damaged((b) => { b.writeBigUInt64LE(1n << 60n, 8); });
  failsAt(() => readGguf(p), p, 8, /tensor count is 1152921504606846976, more than the \d+ tensor infos/);
  p = damaged((b) => { b.writeBigUInt64LE(1n << 40n, 16); });
  failsAt(() => readGguf(p), p, 16, /key\/value count/);
  // The first key's length (byte 24) made huge.
  p = damaged((b) => { b.writeBigUInt64LE(1n << 50n, 24); });
  failsAt(() => readGguf(p), p, 24, /length of metadata key 0 is \d+, more than the \d+ bytes/);
});

test('file cut inside the metadata', () => {
  // Cut early: the 32000-token array cannot fit in what remains, refused from its count alone.
  let p = damaged((b) => b.subarray(0, 5000));
  const g = readGguf(TINY);
  const tokensAt = g.metadataOffsets.get('tokenizer.ggml.tokens')!;
  const countAt = tokensAt + 8 + Buffer.byteLength('tokenizer.ggml.tokens') + 4 + 4;
  failsAt(() => readGguf(p), p, countAt, /item count of metadata value 'tokenizer\.ggml\.tokens' is 32000, more than the \d+ string items the rest of the file could hold/);
  // Cut later: inside the scores array.
  p = damaged((b) => b.subarray(0, g.metadataOffsets.get('tokenizer.ggml.token_type')! - 10));
  try { readGguf(p); assert.unreachable('expected an error'); } catch (e) {
    if (!(e instanceof EdgeqError)) throw e;
    assert.match(e.message, /tokenizer\.ggml\.scores/);
    assert.ok(e.offset! > tokensAt, e.message);
  }
});

// Byte offsets of a tensor info's fields (name length u64, name, n_dims u32, dims u64 each, type u32, offset u64).
function infoFields(name: string) {
  const t = readGguf(TINY).tensor(name)!;
  const dimsAt = t.infoOffset + 8 + Buffer.byteLength(name) + 4;
  const typeAt = dimsAt + 8 * t.dims.length;
  return { t, dimsAt, typeAt, offsetAt: typeAt + 4 };
}

test('tensor data past the end of the file (truncated data)', () => {
  const { t } = infoFields('output.weight');
  const p = damaged((b) => b.subarray(0, b.length - 100));
  failsAt(() => readGguf(p), p, t.infoOffset, /tensor 'output\.weight' \(F16 \[8, 32000\], 512000 bytes\) has its data at bytes \d+\.\.1750560, past the end of the file \(1750460 bytes\)/);
});

test('tensor offset past the end, misaligned offset', () => {
  const { offsetAt } = infoFields('blk.0.attn_q.weight');
  let p = damaged((b) => { b.writeBigUInt64LE(1n << 40n, offsetAt); });
  failsAt(() => readGguf(p), p, offsetAt, /tensor 'blk\.0\.attn_q\.weight' data offset 1099511627776 is past the end of the file/);
  p = damaged((b) => { b.writeBigUInt64LE(512001n, offsetAt); });
  failsAt(() => readGguf(p), p, offsetAt, /data offset 512001 is not a multiple of the alignment 32/);
});

test('unknown ggml type, row not a multiple of the block, too many dimensions', () => {
  const { typeAt, dimsAt, t } = infoFields('blk.0.attn_k.weight');
  let p = damaged((b) => { b.writeUInt32LE(99, typeAt); });
  failsAt(() => readGguf(p), p, typeAt, /tensor 'blk\.0\.attn_k\.weight' has unknown ggml type id 99/);
  p = damaged((b) => { b.writeUInt32LE(8, typeAt); }); // Q8_0 needs rows of 32
  failsAt(() => readGguf(p), p, typeAt, /of type Q8_0 has rows of 8 elements, not a multiple of its block size 32/);
  p = damaged((b) => { b.writeUInt32LE(7, dimsAt - 4); });
  failsAt(() => readGguf(p), p, dimsAt - 4, /has 7 dimensions; ggml allows at most 4/);
  assert.is(t.dims.length, 2);
});

test('a bool that is neither 0 nor 1, an unknown value type', () => {
  const g = readGguf(VOCAB('llama-spm'));
  const at = g.metadataOffsets.get('tokenizer.ggml.add_bos_token')!;
  const valueAt = at + 8 + Buffer.byteLength('tokenizer.ggml.add_bos_token') + 4;
  const src = readFileSync(VOCAB('llama-spm'));
  let p = join(dir, `v${n++}.gguf`);
  const b1 = Buffer.from(src); b1[valueAt] = 2; writeFileSync(p, b1);
  failsAt(() => readGguf(p), p, valueAt, /bool stored as 2; expected 0 or 1/);
  p = join(dir, `v${n++}.gguf`);
  const b2 = Buffer.from(src); b2.writeUInt32LE(13, valueAt - 4); writeFileSync(p, b2);
  failsAt(() => readGguf(p), p, valueAt - 4, /value type 13; GGUF value types are 0\.\.12/);
});

test.run();
