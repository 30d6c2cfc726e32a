// Per-channel asymmetric K blocks of the quantized KV cache (`,kblock=G`;
// docs/integer-spec.md §3.7.3, docs/kv-cache.md). With blocks of G positions (G divides
// the window W), K's packed rows are not written when a position is stored: when the
// block's first position leaves the window, kv_store_q requantizes the whole block from
// its G int8 ring rows (still all in the ring: W >= G, and W a multiple of G keeps them
// contiguous) into unsigned `bits`-bit codes with, per (block, kv head, channel), a
// minimum `lo` and a step (int16, in the block's 12-bit domain), and per (block, kv head)
// one scale (m, e). A packed K value reads as lo + code·step (|·| <= 2047 + 254), times the
// block's scale. Layout of K's scale slots with blocks: m (int16) [nB + W + A, nKv] then
// [nB, kvD] pairs (lo, step); e (int8) [nB + W + A, nKv]; nB = floor(S / G). Row b is
// block b's scale, nB + r the ring/anchor row r (instead of S + r without blocks).

import { bitLength, divFloor, roundShift } from './arith.ts';
import { ZERO_SCALE_E, ZERO_SCALE_M } from './constants.ts';

/** Blocks of a context of S positions (the last, incomplete block never leaves the window). */
export const kvKBlocks = (S: number, G: number): number => (G > 0 ? divFloor(S, G) : 0);

/** First scale row of K's ring rows: nB with blocks, else S (V's is always S). */
export const kvKScaleBase = (S: number, G: number): number => (G > 0 ? kvKBlocks(S, G) : S);

/** int16 elements of K's m slot: its scale rows, then (lo, step) per (block, channel). */
export function kvKScaleMElems(S: number, nKv: number, hs: number, G: number, rows8: number): number {
  return Math.imul(kvKScaleBase(S, G) + rows8, nKv) + Math.imul(Math.imul(kvKBlocks(S, G) << 1, nKv), hs);
}

/** Value i of a packed row of unsigned codes starting at byte o. */
export function kvUnpackU(c: Int8Array, o: number, i: number, bits: number): number {
  const bit = i * bits;
  return (c[o + (bit >> 3)] >> (bit & 7)) & ((1 << bits) - 1);
}

/**
 * Ring value (row rr, head g, channel i) in the block's 12-bit domain of exponent F:
 * round(r·m·2^-(e-F)), clamped to ±2047. |r·m| < 2^22, so the rounding add fits.
 */
function block12(kc: Int8Array, kRing: number, kvD: number, gh: number, kM: Int16Array, kE: Int8Array, sr: number, rr: number, i: number, F: number): number {
  const v = Math.imul(kc[kRing + rr * kvD + gh + i], kM[sr]), d = kE[sr] - F;
  const x = d <= 0 ? v << -d : roundShift(v, d > 30 ? 30 : d);
  return x > 2047 ? 2047 : x < -2047 ? -2047 : x;
}

/**
 * Requantizes K block b of head g from its ring rows (ring row of position b·G + j is
 * (b·G mod W) + j) into packed codes at rows b·G + j, lo/step and the block's scale.
 * kRing: byte offset of the ring rows; kS: K's ring scale base (nB); mBase: the first
 * (lo, step) element of K's m slot ((nB + W + A)·nKv).
 */
export function kvRequantKBlock(
  kc: Int8Array, kM: Int16Array, kE: Int8Array, kRing: number, kS: number, mBase: number,
  nKv: number, hs: number, bits: number, window: number, G: number, b: number, g: number,
): void {
  const kvD = nKv * hs, gh = g * hs, r0 = (b * G) % window, L = (1 << bits) - 1;
  const meta = mBase + 2 * (b * kvD + gh);
  // 1. The block's exponent F: the largest with every nonzero row's |r|·m·2^-(e-F) < 2^11.
  let F = 0, any = false;
  for (let j = 0; j < G; j++) {
    const sr = (kS + r0 + j) * nKv + g;
    let a = 0;
    for (let i = 0; i < hs; i++) { const r = kc[kRing + (r0 + j) * kvD + gh + i]; const u = r < 0 ? -r : r; if (u > a) a = u; }
    if (a === 0) continue;
    const f = 11 + kE[sr] - bitLength(Math.imul(a, kM[sr]));
    if (!any || f < F) F = f;
    any = true;
  }
  kM[b * nKv + g] = any ? 1 << 14 : ZERO_SCALE_M;
  kE[b * nKv + g] = any ? F + 14 : ZERO_SCALE_E;
  // 2. Per channel: lo = min, step = ceil((max - lo) / L) (0 when constant).
  for (let i = 0; i < hs; i++) {
    let lo = 2047, hi = -2047;
    for (let j = 0; j < G; j++) {
      const x = any ? block12(kc, kRing, kvD, gh, kM, kE, (kS + r0 + j) * nKv + g, r0 + j, i, F) : 0;
      if (x < lo) lo = x;
      if (x > hi) hi = x;
    }
    kM[meta + 2 * i] = lo;
    kM[meta + 2 * i + 1] = divFloor(hi - lo + L - 1, L);
  }
  // 3. Codes round((x - lo) / step), halves up, in [0, L]; packed as kv_store_q packs.
  const per = bits === 8 ? 1 : bits === 4 ? 2 : 4; // values per byte
  for (let j = 0; j < G; j++) {
    const o = (((b * G + j) * kvD + gh) * bits) >> 3;
    for (let i0 = 0; i0 < hs; i0 += per) {
      let byte = 0;
      for (let u = 0; u < per; u++) {
        const i = i0 + u, lo = kM[meta + 2 * i], step = kM[meta + 2 * i + 1];
        const x = any ? block12(kc, kRing, kvD, gh, kM, kE, (kS + r0 + j) * nKv + g, r0 + j, i, F) : 0;
        const code = step === 0 ? 0 : divFloor(2 * (x - lo) + step, 2 * step);
        byte |= code << (u * bits);
      }
      kc[o + ((i0 * bits) >> 3)] = byte << 24 >> 24;
    }
  }
}

/**
 * Σᵢ q12[i]·(lo_i + code_i·step_i) over the packed K row at byte o (codes) with its
 * (lo, step) pairs from kM[meta]: the score accumulator of a block row (|·| <= hs·2047·2301 < 2^31).
 */
export function kvKBlockDot(q12: Int16Array, kc: Int8Array, o: number, kM: Int16Array, meta: number, hs: number, bits: number): number {
  let acc = 0;
  for (let i = 0; i < hs; i++) {
    acc = (acc + Math.imul(q12[i], kM[meta + 2 * i] + Math.imul(kvUnpackU(kc, o, i, bits), kM[meta + 2 * i + 1]))) | 0;
  }
  return acc;
}
