// Small helpers shared by the training kernels (docs/integer-spec.md §13.0).

import { I32_MAX, shlSat } from './arith.ts';
import { mulShiftRound } from './int64.ts';

/**
 * a * b * 2^-s for any s, saturated: s >= 0 is mulShiftRound (round half up); s < 0 is
 * the exact product (saturated) shifted left with saturation. mulShiftRound alone clamps a
 * negative s to 0, which would silently drop the factor 2^-s.
 */
export function mulShiftAny(a: number, b: number, s: number): number {
  if (s >= 0) return mulShiftRound(a, b, s);
  return shlSat(mulShiftRound(a, b, 0), -s);
}

/**
 * max bitLength(|v|) over v[o .. o+n) (0 when all are zero; -2^31 counts as 2^31 - 1): the
 * OR of the magnitudes has the largest magnitude's bit length.
 */
export function maxBits(v: Int32Array, o: number, n: number): number {
  let m = 0;
  for (let i = 0; i < n; i++) {
    const x = v[o + i];
    m = m | (x < 0 ? (x === -2147483648 ? I32_MAX : -x) : x);
  }
  return 32 - Math.clz32(m);
}

/** v * 2^-k (floor) for k >= 0, v * 2^-k exactly for k < 0 (the caller bounds |v| 2^-k < 2^31). */
export function shiftBy(v: number, k: number): number {
  return k >= 0 ? (k > 31 ? v >> 31 : v >> k) : v << -k;
}
