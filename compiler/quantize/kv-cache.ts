// KV cache formats (docs/kv-cache.md), defined once: the name given to `--kv`, what it
// means, and the bytes it takes. "k12v8" is the original cache (kv_store/attention,
// docs/integer-spec.md §3.7); "k<b>v<b>[,w<W>]" (b in 8, 4, 2) is the quantized one
// (kv_store_q/attention_q, §3.7.1), with the last W positions also kept at 8 bits, and
// with ",anchors=P%" the P% of positions the device scores highest (per kv head) kept at
// 8 bits after they leave the window (AnTKV-style anchor tokens); ",rot" rotates q and k
// of every head by the integer Walsh–Hadamard transform before K is quantized (§3.7.2);
// ",kblock=G" quantizes K per channel, asymmetric, over blocks of G positions requantized
// from the window's int8 rows (§3.7.3).
import { usageError } from '../util/errors.ts';
import { kvKScaleBase, kvKScaleMElems } from '../../runtime/kernels/reference/kv_kblock.ts';

export interface KvFormat {
  /** 12: the original cache (K 12-bit in int16, V int8); else the quantized cache's widths. */
  kBits: 12 | 8 | 4 | 2;
  vBits: 8 | 4 | 2;
  /** Positions kept at 8 bits besides the packed rows (quantized cache only). */
  window: number;
  /** Percent of the context kept at 8 bits as anchor tokens (0: none; needs a window). */
  anchors: number;
  /** q and k rotated per head by the Walsh–Hadamard transform after RoPE (quantized cache only; head size a power of two). */
  rot: boolean;
  /** K per channel, asymmetric, over blocks of this many positions (0: per (position, kv head), symmetric); divides the window. */
  kBlock: number;
}

export const KV_DEFAULT: KvFormat = { kBits: 12, vBits: 8, window: 0, anchors: 0, rot: false, kBlock: 0 };
export const KV_FORMAT_SYNTAX = 'k12v8 (default) or k<8|4|2>v<8|4|2>[,w<W>[,kblock=<G>][,anchors=<P>%]][,rot] (W recent positions and P% anchor positions kept at 8 bits; kblock: K per channel over blocks of G positions, G dividing W; rot: q and k Walsh–Hadamard rotated per head, head size a power of two)';

/** Parses a `--kv` value; usage error naming the syntax otherwise. */
export function parseKvFormat(s: string): KvFormat {
  if (s === 'k12v8') return KV_DEFAULT;
  const m = /^k(8|4|2)v(8|4|2)(?:,w(\d+))?(?:,kblock=(\d+))?(?:,anchors=(\d+(?:\.\d{1,2})?)%)?(,rot)?$/.exec(s);
  if (!m) throw usageError(`--kv ${JSON.stringify(s)}: expected ${KV_FORMAT_SYNTAX}`);
  const window = m[3] === undefined ? 0 : Number(m[3]);
  if (window > 4096) throw usageError(`--kv ${s}: window ${window} is over 4096 positions`);
  const kBlock = m[4] === undefined ? 0 : Number(m[4]);
  // A block is requantized from the ring when its first position leaves the window: all of it must be there, contiguous.
  if (m[4] !== undefined && (kBlock === 0 || window === 0 || window % kBlock !== 0)) {
    throw usageError(`--kv ${s}: kblock=${kBlock} needs a window (,w<W>) that is a multiple of it (a block of K is requantized from the window's int8 rows)`);
  }
  const anchors = m[5] === undefined ? 0 : Number(m[5]);
  if (m[5] !== undefined && (anchors <= 0 || anchors > 100)) throw usageError(`--kv ${s}: anchors must be a percent in (0, 100]`);
  // A token enters the anchor set as it leaves the window, copied from its int8 ring row.
  if (anchors > 0 && window === 0) throw usageError(`--kv ${s}: anchors need a window (,w<W>): an anchor's int8 row is copied from the window's`);
  return { kBits: Number(m[1]) as 8 | 4 | 2, vBits: Number(m[2]) as 8 | 4 | 2, window, anchors, rot: m[6] !== undefined, kBlock };
}

/** The window of a context of S positions (at most S); a usage error when K blocks no longer divide it. */
export function kvWindow(f: KvFormat, S: number): number {
  const W = Math.min(f.window, S);
  if (f.kBlock > 0 && W % f.kBlock !== 0) throw usageError(`--kv ${kvFormatName(f)}: at context ${S} the window is ${W} positions, not a multiple of kblock=${f.kBlock}`);
  return W;
}

/**
 * log2 of the head size when the format rotates q and k (the Walsh–Hadamard transform of a
 * head needs hs = 2^r), else 0; a usage error naming the head size when it cannot rotate.
 */
export function kvRotationLog2(f: KvFormat, headSize: number): number {
  if (!f.rot) return 0;
  if (!(headSize > 1 && (headSize & (headSize - 1)) === 0)) {
    throw usageError(`--kv ${kvFormatName(f)}: rot needs a head size that is a power of two; this model's head size is ${headSize}`);
  }
  return 31 - Math.clz32(headSize);
}

/**
 * The score scale attention(_q) is given: the model's attScale (log2(e)/sqrt(hs)), times
 * 1/hs when q and k are rotated, since the unnormalized transform has H^T H = hs·I, so
 * (Hq)·(Hk) = hs·(q·k). 1/hs = 2^-r is exact: only the exponent moves.
 */
export function kvScoreScale(f: KvFormat | undefined, headSize: number, attScaleM: number, attScaleE: number): { m: number; e: number } {
  return { m: attScaleM, e: attScaleE + (f ? kvRotationLog2(f, headSize) : 0) };
}

/** Anchor slots per (layer, kv head) of a context of S positions: ceil(P% of S), at most S. */
export function anchorSlots(f: KvFormat, S: number): number {
  const hundredths = Math.round(f.anchors * 100); // integer arithmetic: 7% of 100 is 7, not 8
  return f.anchors > 0 ? Math.min(S, Math.floor((hundredths * S + 9999) / 10000)) : 0;
}

/** int32 elements of one layer's anchor state (scores, slot map, slot table; §3.7.1); 1 (unused) without anchors. */
export function anchorStateElems(S: number, nKv: number, A: number): number {
  return A > 0 ? (2 * S + A) * nKv : 1;
}

export const isQuantizedKv = (f: KvFormat): boolean => f.kBits !== 12;

export function kvFormatName(f: KvFormat): string {
  return `k${f.kBits}v${f.vBits}${f.window > 0 ? `,w${f.window}` : ''}${f.kBlock > 0 ? `,kblock=${f.kBlock}` : ''}${f.anchors > 0 ? `,anchors=${f.anchors}%` : ''}${f.rot ? ',rot' : ''}`;
}

export interface KvShape { nLayers: number; nKvHeads: number; headSize: number; seqLen: number }

/**
 * Bytes the cache of every layer takes in the arena (values and their scales; a window is
 * capped at seqLen). Equal to the lowering's persistent cache slots before 16-byte padding.
 */
export function kvCacheBytes(f: KvFormat, s: KvShape): number {
  const kvD = s.nKvHeads * s.headSize, S = s.seqLen;
  if (!isQuantizedKv(f)) return s.nLayers * (S * kvD * 3 + S * s.nKvHeads * 6);
  const W = kvWindow(f, S), A = anchorSlots(f, S);
  // Anchor rows follow the ring rows (int8, with scales); the anchor state is int32.
  const values = ((S * kvD * f.kBits) >> 3) + ((S * kvD * f.vBits) >> 3) + 2 * (W + A) * kvD;
  const state = A > 0 ? 4 * anchorStateElems(S, s.nKvHeads, A) : 0;
  // K's scales: m int16 (with blocks also (lo, step) per block and channel), e int8; V's: S + W + A rows.
  const kScales = 2 * kvKScaleMElems(S, s.nKvHeads, s.headSize, f.kBlock, W + A) + (kvKScaleBase(S, f.kBlock) + W + A) * s.nKvHeads;
  return s.nLayers * (values + kScales + (S + W + A) * s.nKvHeads * 3 + state);
}

/** The cache's slots: values and scales, and the anchor state (not its 1-element placeholder `kv_anchors.none`). */
export const KV_SLOT_NAME = /\.(k|v)_cache(\.|$)|\.kv_anchors$/;

/** A program's cache as it lies in the arena: the format's name, the bytes of its slots (`*.k_cache*`, `*.v_cache*`) and the context. */
export function kvCacheOfProgram(c: { config: { seqLen: number }; plan: { kvCache?: string }; program: { slots: Array<{ name?: string; size: number }> } }): { format: string; bytes: number; context: number } {
  const bytes = c.program.slots.filter((s) => KV_SLOT_NAME.test(s.name ?? '')).reduce((a, s) => a + s.size, 0);
  return { format: c.plan.kvCache ?? 'k12v8', bytes, context: c.config.seqLen };
}
