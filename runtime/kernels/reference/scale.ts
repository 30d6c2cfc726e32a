// Scales (docs/integer-spec.md §2.2): a positive real scale is a pair (m, e) with mantissa
// m in [2^14, 2^15) and value m * 2^-e. Two mantissas multiply to < 2^30, which is why 15
// bits: products of two scales, and of a scale with an int8 x int8 accumulator in int64,
// never need more than one normalization step. Results are written to out[o] = m,
// out[o + 1] = e (AssemblyScript: the same, into a small static i32 array).

import { bitLength, divRound, isqrtRound } from './arith.ts';

export const MANT_MIN = 1 << 14;
export const MANT_LIMIT = 1 << 15;

/** (m1, e1) * (m2, e2), rounded half up to a 15-bit mantissa. */
export function mulScale(m1: number, e1: number, m2: number, e2: number, out: Int32Array, o: number): void {
  const p = Math.imul(m1, m2); // in [2^28, 2^30)
  let m: number, e: number;
  if (p >= 1 << 29) { m = (p + (1 << 14)) >> 15; e = e1 + e2 - 15; }
  else { m = (p + (1 << 13)) >> 14; e = e1 + e2 - 14; }
  if (m === MANT_LIMIT) { m = MANT_MIN; e = e - 1; } // rounding carried into bit 15
  out[o] = m;
  out[o + 1] = e;
}

/**
 * The scale of an integer v > 0 in a format with `frac` fractional bits: v * 2^-frac as
 * (m, e), truncating v to its top 15 bits (relative error < 2^-14).
 */
export function scaleOf(v: number, frac: number, out: Int32Array, o: number): void {
  const k = bitLength(v) - 15;
  out[o] = k >= 0 ? v >> k : v << -k;
  out[o + 1] = frac - k;
}

/**
 * 1 / v for an integer v > 0, as (m, e): v is truncated to 15 bits v' = v >> k, then
 * m = round(2^29 / v') in (2^14, 2^15], e = 29 + k (renormalized when m = 2^15).
 */
export function recipScale(v: number, out: Int32Array, o: number): void {
  const k = bitLength(v) - 15;
  const vn = k >= 0 ? v >> k : v << -k; // [2^14, 2^15)
  let m = divRound(1 << 29, vn);
  let e = 29 + k;
  if (m === MANT_LIMIT) { m = MANT_MIN; e = e - 1; }
  out[o] = m;
  out[o + 1] = e;
}

/**
 * 1 / sqrt(n) for an integer n > 0, as (m, e): n is shifted by an even amount 2j into
 * n' in [2^28, 2^30) (truncating), s = round(sqrt(n')) in [2^14, 2^15], then
 * m = round(2^29 / s), e = 29 + j (renormalized when m = 2^15).
 */
export function rsqrtScale(n: number, out: Int32Array, o: number): void {
  const j = (bitLength(n) - 29) >> 1; // floor: n' gets 29 or 30 bits
  const nn = j >= 0 ? n >> (2 * j) : n << (-2 * j);
  const s = isqrtRound(nn);
  let m = divRound(1 << 29, s);
  let e = 29 + j;
  if (m === MANT_LIMIT) { m = MANT_MIN; e = e - 1; }
  out[o] = m;
  out[o + 1] = e;
}
