// int8-weight matrix-vector product with int32 accumulation and per-row requantization
// (docs/integer-spec.md §3.4). Port of runtime/kernels/reference/gemv_q8.ts; W is read in
// place from the artifact. The SIMD build uses runtime/kernels/simd/gemv_q8.ts instead.
import { mulShiftRound } from "./int64";
import { i16at, i8at, set32 } from "./mem";

/** out[0..d) = W[d, n] . x[n] with `outFrac` fractional bits, saturated. */
export function gemvQ8(
  out: usize, w: usize, wM: usize, wE: usize,
  x: usize, xM: i32, xE: i32, n: i32, d: i32, outFrac: i32,
): void {
  for (let o = 0; o < d; o++) {
    const row = w + <usize>(o * n);
    let acc = 0; // |acc| <= n * 127 * 2047 < 2^31 for n <= 8260
    for (let j = 0; j < n; j++) acc += <i32>load<i8>(row + <usize>j) * <i32>load<i16>(x + (<usize>j << 1));
    set32(out, o, mulShiftRound(acc, i16at(wM, o) * xM, i8at(wE, o) + xE - outFrac));
  }
}
