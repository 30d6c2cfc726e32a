// int8 GEMV with WebAssembly SIMD (docs/integer-spec.md §3.4): the same result as
// runtime/kernels/scalar/gemv_q8.ts to the bit. Integer addition is associative in i32
// (and the accumulator provably never exceeds 2^31, §6), so summing 16 products at a time
// in four lanes gives exactly the scalar sum. Per 16 weights: one v128 load of int8,
// sign extension to two i16x8, two i32x4.dot_i16x8_s against the int16 activations.
// No relaxed SIMD: plain SIMD128 only, which V8 and wasm-interp run.
import { mulShiftRound } from "../scalar/int64";
import { i16at, i8at, set32 } from "../scalar/mem";

export function gemvQ8(
  out: usize, w: usize, wM: usize, wE: usize,
  x: usize, xM: i32, xE: i32, n: i32, d: i32, outFrac: i32,
): void {
  const n16 = n & ~15;
  for (let o = 0; o < d; o++) {
    const row = w + <usize>(o * n);
    let acc4 = i32x4.splat(0);
    for (let j = 0; j < n16; j += 16) {
      const wv = v128.load(row + <usize>j);
      const x0 = v128.load(x + (<usize>j << 1));
      const x1 = v128.load(x + (<usize>j << 1), 16);
      acc4 = i32x4.add(acc4, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(wv), x0));
      acc4 = i32x4.add(acc4, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(wv), x1));
    }
    let acc = i32x4.extract_lane(acc4, 0) + i32x4.extract_lane(acc4, 1) +
      i32x4.extract_lane(acc4, 2) + i32x4.extract_lane(acc4, 3);
    for (let j = n16; j < n; j++) acc += <i32>load<i8>(row + <usize>j) * <i32>load<i16>(x + (<usize>j << 1));
    set32(out, o, mulShiftRound(acc, i16at(wM, o) * xM, i8at(wE, o) + xE - outFrac));
  }
}
