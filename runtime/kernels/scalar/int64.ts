// The only 64-bit arithmetic of the integer path (docs/integer-spec.md §2.3). Port of
// runtime/kernels/reference/int64.ts, where the product is built from 16-bit halves; here
// it is one native i64 multiply.
import { I32_MAX } from "./arith";

// @ts-ignore: decorator
@inline function sat32(v: i64): i32 {
  if (v > <i64>I32_MAX) return I32_MAX;
  if (v < -<i64>I32_MAX) return -I32_MAX;
  return <i32>v;
}

/**
 * sat32(floor((a*b + 2^(s-1)) / 2^s)): multiply, then round half up. a, b int32; s is
 * clamped into [0, 62] (s = 0: no rounding term). |a*b| <= 2^62, so the sum fits an i64.
 */
export function mulShiftRound(a: i32, b: i32, s: i32): i32 {
  if (s < 0) s = 0; else if (s > 62) s = 62;
  let p = <i64>a * <i64>b;
  if (s > 0) p += <i64>1 << <i64>(s - 1);
  return sat32(p >> <i64>s);
}

/** sat32(floor(a*b / 2^s)), s clamped into [0, 62]. Used by the sampler's thresholds. */
export function mulShiftFloor(a: i32, b: i32, s: i32): i32 {
  if (s < 0) s = 0; else if (s > 62) s = 62;
  return sat32((<i64>a * <i64>b) >> <i64>s);
}

/** The upper 32 bits of the unsigned 64-bit product of two uint32 bit patterns. */
// @ts-ignore: decorator
@inline export function mulHiU32(a: i32, b: i32): i32 {
  // Masks: asc -O3 folds extend_i32_u of an inlined i32 load into a sign-extending load (see rng.ts).
  return <i32>(((<u64><u32>a & 0xffffffff) * (<u64><u32>b & 0xffffffff)) >> 32);
}
