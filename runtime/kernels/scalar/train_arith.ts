// Small helpers shared by the training kernels (docs/integer-spec.md §13.0). Port of
// runtime/kernels/reference/train_arith.ts.
import { I32_MAX, shlSat } from "./arith";
import { mulShiftRound } from "./int64";
import { i32at } from "./mem";

/** a * b * 2^-s for any s: s >= 0 mulShiftRound; s < 0 the saturated product shifted left, saturating. */
export function mulShiftAny(a: i32, b: i32, s: i32): i32 {
  if (s >= 0) return mulShiftRound(a, b, s);
  return shlSat(mulShiftRound(a, b, 0), -s);
}

/** max bitLength(|v|) over v[o .. o+n) (0 when all are zero; -2^31 counts as 2^31 - 1). */
export function maxBits(v: usize, o: i32, n: i32): i32 {
  let m = 0;
  for (let i = 0; i < n; i++) {
    const x = i32at(v, o + i);
    m = m | (x < 0 ? (x == i32.MIN_VALUE ? I32_MAX : -x) : x);
  }
  return 32 - clz<i32>(m);
}

/** v * 2^-k (floor) for k >= 0, v * 2^-k exactly for k < 0. */
// @ts-ignore: decorator
@inline export function shiftBy(v: i32, k: i32): i32 {
  return k >= 0 ? (k > 31 ? v >> 31 : v >> k) : v << -k;
}
