// GGUF writer (v3, little-endian), for tests, `edgeq synth --format gguf-*` and benchmarks.
// It writes what llama.cpp's gguf writer writes: header, metadata, tensor infos, padding to
// the alignment, then each tensor's data padded to the alignment. Files it writes can only
// show that reader and writer agree; the reader's correctness is shown on llama.cpp's files.
//
// Encoders round like ggml's reference code: F16 and BF16 to nearest even, Q8_0 as
// quantize_row_q8_0_ref (d = amax/127 stored as F16, q = roundf(x/d)).
import { openAtomic } from '../../util/atomic-write.ts';
import { blockTensor, headSize, type Graph } from '../graph.ts';
import { GGUF_DEFAULT_ALIGNMENT, GGUF_VALUE_TYPES, type GgufValue } from './gguf-file.ts';
import { ggmlBytes, ggmlTypeByName, type GgmlType } from './ggml-types.ts';

export interface GgufTensorOut {
  name: string;
  /** Innermost first (GGUF order). */
  dims: number[];
  type: GgmlType;
  /** The tensor's encoded bytes; called once, when its turn to be written comes. */
  data: () => Uint8Array;
}

const u32 = (v: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(v, 0); return b; };
const u64 = (v: number | bigint) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v), 0); return b; };
const str = (s: string) => { const b = Buffer.from(s, 'utf8'); return Buffer.concat([u64(b.length), b]); };
const typeId = (t: string) => GGUF_VALUE_TYPES.indexOf(t as (typeof GGUF_VALUE_TYPES)[number]);

function scalar(type: string, v: unknown): Buffer {
  const b = Buffer.alloc(8);
  switch (type) {
    case 'u8': b.writeUInt8(v as number); return b.subarray(0, 1);
    case 'i8': b.writeInt8(v as number); return b.subarray(0, 1);
    case 'u16': b.writeUInt16LE(v as number); return b.subarray(0, 2);
    case 'i16': b.writeInt16LE(v as number); return b.subarray(0, 2);
    case 'u32': b.writeUInt32LE(v as number); return b.subarray(0, 4);
    case 'i32': b.writeInt32LE(v as number); return b.subarray(0, 4);
    case 'f32': b.writeFloatLE(v as number); return b.subarray(0, 4);
    case 'f64': b.writeDoubleLE(v as number); return b;
    case 'u64': b.writeBigUInt64LE(v as bigint); return b;
    case 'i64': b.writeBigInt64LE(v as bigint); return b;
    case 'bool': return Buffer.from([v ? 1 : 0]);
    case 'string': return str(v as string);
  }
  throw new Error(`internal: GGUF value type ${type}`);
}

export function encodeValue(v: GgufValue): Buffer {
  if (v.type !== 'array') return Buffer.concat([u32(typeId(v.type)), scalar(v.type, v.value)]);
  const items = (v.value as unknown[]).map((x) => scalar(v.itemType, x));
  return Buffer.concat([u32(typeId('array')), u32(typeId(v.itemType)), u64(items.length), ...items]);
}

/** Writes a GGUF file atomically; returns its size. */
export function writeGguf(path: string, metadata: Array<[string, GgufValue]>, tensors: GgufTensorOut[], alignment = GGUF_DEFAULT_ALIGNMENT): number {
  const pad = (n: number) => (alignment - (n % alignment)) % alignment;
  const parts: Buffer[] = [Buffer.from('GGUF', 'latin1'), u32(3), u64(tensors.length), u64(metadata.length)];
  for (const [k, v] of metadata) parts.push(str(k), encodeValue(v));
  let offset = 0;
  for (const t of tensors) {
    const n = t.dims.reduce((a, b) => a * b, 1);
    parts.push(str(t.name), u32(t.dims.length), ...t.dims.map((d) => u64(d)), u32(t.type.id), u64(offset));
    offset += ggmlBytes(t.type, n);
    offset += pad(offset);
  }
  const head = Buffer.concat(parts);
  const file = openAtomic(path);
  try {
    file.write(head);
    file.write(new Uint8Array(pad(head.length)));
    for (const t of tensors) {
      const data = t.data();
      const want = ggmlBytes(t.type, t.dims.reduce((a, b) => a * b, 1));
      if (data.length !== want) throw new Error(`internal: tensor ${t.name} encoded to ${data.length} bytes, expected ${want}`);
      file.write(data);
      file.write(new Uint8Array(pad(data.length)));
    }
    file.commit();
    return file.bytesWritten;
  } catch (e) {
    file.abort();
    throw e;
  }
}

// ---- encoders ----

const f32 = new Float32Array(1);
const u32v = new Uint32Array(f32.buffer);

/** float32 to IEEE half, round to nearest even (ggml's GGML_COMPUTE_FP32_TO_FP16 generic path). */
export function floatToHalf(x: number): number {
  f32[0] = x;
  const u = u32v[0];
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  const man = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (man ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    const m = man | 0x800000;
    const shift = 14 - e;
    const half = m >>> shift, rest = m & ((1 << shift) - 1), mid = 1 << (shift - 1);
    return sign | (half + (rest > mid || (rest === mid && (half & 1)) ? 1 : 0));
  }
  const half = (e << 10) | (man >>> 13), rest = man & 0x1fff;
  return sign | (half + (rest > 0x1000 || (rest === 0x1000 && (half & 1)) ? 1 : 0)); // a carry rolls into the exponent correctly
}

export function encodeF16(a: Float32Array): Uint8Array {
  const out = new Uint8Array(a.length * 2);
  for (let i = 0; i < a.length; i++) { const h = floatToHalf(a[i]); out[2 * i] = h & 0xff; out[2 * i + 1] = h >> 8; }
  return out;
}

export function encodeBF16(a: Float32Array): Uint8Array {
  const u = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const out = new Uint8Array(a.length * 2);
  for (let i = 0; i < a.length; i++) {
    const x = u[i];
    const h = (x & 0x7fffffff) > 0x7f800000 ? (x >>> 16) | 64 : (x + (0x7fff + ((x >>> 16) & 1))) >>> 16;
    out[2 * i] = h & 0xff; out[2 * i + 1] = (h >> 8) & 0xff;
  }
  return out;
}

export function encodeQ8_0(a: Float32Array): Uint8Array {
  const fr = Math.fround;
  const out = new Uint8Array((a.length / 32) * 34);
  for (let b = 0; b < a.length / 32; b++) {
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(a[b * 32 + j]));
    const d = fr(amax / 127);
    const id = d ? fr(1 / d) : 0;
    const h = floatToHalf(d);
    out[b * 34] = h & 0xff; out[b * 34 + 1] = h >> 8;
    for (let j = 0; j < 32; j++) {
      const x = fr(a[b * 32 + j] * id);
      out[b * 34 + 2 + j] = (Math.sign(x) * Math.round(Math.abs(x))) & 0xff; // roundf: half away from zero
    }
  }
  return out;
}

export type GgufWeightType = 'F32' | 'F16' | 'BF16' | 'Q8_0';
const ENCODE: Record<GgufWeightType, (a: Float32Array) => Uint8Array> = {
  F32: (a) => new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength)),
  F16: encodeF16, BF16: encodeBF16, Q8_0: encodeQ8_0,
};

/** Canonical names (graph.ts) → llama.cpp's tensor names. */
const LLAMA_NAMES: Record<string, string> = {
  rms_att: 'attn_norm', wq: 'attn_q', wk: 'attn_k', wv: 'attn_v', wo: 'attn_output',
  rms_ffn: 'ffn_norm', w1: 'ffn_gate', w2: 'ffn_down', w3: 'ffn_up',
};

/**
 * Writes a graph as a llama-architecture GGUF with matrices in `weightType` (norm vectors
 * F32, as llama.cpp does; a matrix whose rows are not a whole number of blocks falls back
 * to F16, as llama.cpp's quantizer falls back). No tokenizer metadata.
 */
export function writeGraphGguf(path: string, graph: Graph, weightType: GgufWeightType): number {
  const c = graph.config;
  const spec = graph.spec;
  const meta: Array<[string, GgufValue]> = [
    ['general.architecture', { type: 'string', value: 'llama' }],
    ['general.name', { type: 'string', value: 'edgeq test model' }],
    ['llama.context_length', { type: 'u32', value: c.seqLen }],
    ['llama.embedding_length', { type: 'u32', value: c.dim }],
    ['llama.block_count', { type: 'u32', value: c.nLayers }],
    ['llama.feed_forward_length', { type: 'u32', value: c.hiddenDim }],
    ['llama.rope.dimension_count', { type: 'u32', value: headSize(c) }],
    ['llama.attention.head_count', { type: 'u32', value: c.nHeads }],
    ['llama.attention.head_count_kv', { type: 'u32', value: c.nKvHeads }],
    ['llama.rope.freq_base', { type: 'f32', value: spec?.ropeTheta ?? 10000 }],
    ['llama.attention.layer_norm_rms_epsilon', { type: 'f32', value: spec?.normEps ?? 1e-5 }],
  ];
  const tensors: GgufTensorOut[] = [];
  const add = (ggufName: string, canonical: string) => {
    const ref = graph.tensors.get(canonical);
    if (!ref) throw new Error(`internal: graph has no tensor ${canonical}`);
    const isVector = ref.shape.length === 1;
    let type = ggmlTypeByName(isVector ? 'F32' : weightType)!;
    if (ref.shape[ref.shape.length - 1] % type.blockElems !== 0) type = ggmlTypeByName('F16')!;
    tensors.push({ name: ggufName, dims: [...ref.shape].reverse(), type, data: () => ENCODE[type.name as GgufWeightType](ref.read()) });
  };
  add('token_embd.weight', 'tok_embeddings');
  for (let l = 0; l < c.nLayers; l++) for (const [k, v] of Object.entries(LLAMA_NAMES)) add(`blk.${l}.${v}.weight`, blockTensor(l, k));
  add('output_norm.weight', 'rms_final');
  if (!c.sharedClassifier) add('output.weight', 'wcls');
  // Llama-3.1's frequency divisors travel as llama.cpp writes them: an F32 tensor rope_freqs.weight.
  const ff = spec?.ropeFreqFactors;
  if (ff) tensors.push({ name: 'rope_freqs.weight', dims: [ff.length], type: ggmlTypeByName('F32')!, data: () => ENCODE.F32(Float32Array.from(ff)) });
  return writeGguf(path, meta, tensors);
}
