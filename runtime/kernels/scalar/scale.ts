// Scales (docs/integer-spec.md §2.2): (m, e) with m in [2^14, 2^15), value m * 2^-e.
// Port of runtime/kernels/reference/scale.ts; results go to the i32 array at `out`,
// element o (m) and o + 1 (e).
import { bitLength, divRound, isqrtRound } from "./arith";
import { set32 } from "./mem";

export const MANT_MIN: i32 = 1 << 14;
export const MANT_LIMIT: i32 = 1 << 15;

/** (m1, e1) * (m2, e2), rounded half up to a 15-bit mantissa. */
export function mulScale(m1: i32, e1: i32, m2: i32, e2: i32, out: usize, o: i32): void {
  const p = m1 * m2; // in [2^28, 2^30)
  let m: i32, e: i32;
  if (p >= 1 << 29) { m = (p + (1 << 14)) >> 15; e = e1 + e2 - 15; }
  else { m = (p + (1 << 13)) >> 14; e = e1 + e2 - 14; }
  if (m == MANT_LIMIT) { m = MANT_MIN; e = e - 1; } // rounding carried into bit 15
  set32(out, o, m);
  set32(out, o + 1, e);
}

/** The scale of an integer v > 0 with `frac` fractional bits (top 15 bits, truncated). */
export function scaleOf(v: i32, frac: i32, out: usize, o: i32): void {
  const k = bitLength(v) - 15;
  set32(out, o, k >= 0 ? v >> k : v << -k);
  set32(out, o + 1, frac - k);
}

/** 1 / v for an integer v > 0, as (m, e). */
export function recipScale(v: i32, out: usize, o: i32): void {
  const k = bitLength(v) - 15;
  const vn = k >= 0 ? v >> k : v << -k; // [2^14, 2^15)
  let m = divRound(1 << 29, vn);
  let e = 29 + k;
  if (m == MANT_LIMIT) { m = MANT_MIN; e = e - 1; }
  set32(out, o, m);
  set32(out, o + 1, e);
}

/** 1 / sqrt(n) for an integer n > 0, as (m, e). */
export function rsqrtScale(n: i32, out: usize, o: i32): void {
  const j = (bitLength(n) - 29) >> 1; // floor: n' gets 29 or 30 bits
  const nn = j >= 0 ? n >> (2 * j) : n << (-2 * j);
  const s = isqrtRound(nn);
  let m = divRound(1 << 29, s);
  let e = 29 + j;
  if (m == MANT_LIMIT) { m = MANT_MIN; e = e - 1; }
  set32(out, o, m);
  set32(out, o + 1, e);
}
