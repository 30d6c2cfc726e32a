// KV cache formats (docs/kv-cache.md), defined once: the name given to `--kv`, what it
// means, and the bytes it takes. "k12v8" is the original cache (kv_store/attention,
// docs/integer-spec.md §3.7); "k<b>v<b>[,w<W>]" (b in 8, 4, 2) is the quantized one
// (kv_store_q/attention_q, §3.7.1), with the last W positions also kept at 8 bits.
import { usageError } from '../util/errors.ts';

export interface KvFormat {
  /** 12: the original cache (K 12-bit in int16, V int8); else the quantized cache's widths. */
  kBits: 12 | 8 | 4 | 2;
  vBits: 8 | 4 | 2;
  /** Positions kept at 8 bits besides the packed rows (quantized cache only). */
  window: number;
}

export const KV_DEFAULT: KvFormat = { kBits: 12, vBits: 8, window: 0 };
export const KV_FORMAT_SYNTAX = 'k12v8 (default) or k<8|4|2>v<8|4|2>[,w<W>] (W recent positions kept at 8 bits)';

/** Parses a `--kv` value; usage error naming the syntax otherwise. */
export function parseKvFormat(s: string): KvFormat {
  if (s === 'k12v8') return KV_DEFAULT;
  const m = /^k(8|4|2)v(8|4|2)(?:,w(\d+))?$/.exec(s);
  if (!m) throw usageError(`--kv ${JSON.stringify(s)}: expected ${KV_FORMAT_SYNTAX}`);
  const window = m[3] === undefined ? 0 : Number(m[3]);
  if (window > 4096) throw usageError(`--kv ${s}: window ${window} is over 4096 positions`);
  return { kBits: Number(m[1]) as 8 | 4 | 2, vBits: Number(m[2]) as 8 | 4 | 2, window };
}

export const isQuantizedKv = (f: KvFormat): boolean => f.kBits !== 12;

export function kvFormatName(f: KvFormat): string {
  return `k${f.kBits}v${f.vBits}${f.window > 0 ? `,w${f.window}` : ''}`;
}

export interface KvShape { nLayers: number; nKvHeads: number; headSize: number; seqLen: number }

/**
 * Bytes the cache of every layer takes in the arena (values and their scales; a window is
 * capped at seqLen). Equal to the lowering's persistent cache slots before 16-byte padding.
 */
export function kvCacheBytes(f: KvFormat, s: KvShape): number {
  const kvD = s.nKvHeads * s.headSize, S = s.seqLen;
  if (!isQuantizedKv(f)) return s.nLayers * (S * kvD * 3 + S * s.nKvHeads * 6);
  const W = Math.min(f.window, S);
  const values = ((S * kvD * f.kBits) >> 3) + ((S * kvD * f.vBits) >> 3) + 2 * W * kvD;
  return s.nLayers * (values + (S + W) * s.nKvHeads * 6);
}

/** A program's cache as it lies in the arena: the format's name, the bytes of its slots (`*.k_cache*`, `*.v_cache*`) and the context. */
export function kvCacheOfProgram(c: { config: { seqLen: number }; plan: { kvCache?: string }; program: { slots: Array<{ name?: string; size: number }> } }): { format: string; bytes: number; context: number } {
  const bytes = c.program.slots.filter((s) => /\.(k|v)_cache(\.|$)/.test(s.name ?? '')).reduce((a, s) => a + s.size, 0);
  return { format: c.plan.kvCache ?? 'k12v8', bytes, context: c.config.seqLen };
}
