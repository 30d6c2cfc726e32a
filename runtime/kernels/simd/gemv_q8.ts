// int8 GEMV with WebAssembly SIMD (docs/integer-spec.md §3.4): the same result as
// runtime/kernels/scalar/gemv_q8.ts to the bit. Integer addition is associative in i32
// (and the accumulator provably never exceeds 2^31, §6), so summing 16 products at a time
// in four lanes gives exactly the scalar sum. Per 16 weights: one v128 load of int8,
// sign extension to two i16x8, two i32x4.dot_i16x8_s against the int16 activations.
// No relaxed SIMD: plain SIMD128 only, which V8 and wasm-interp run.
import { mulShiftRound } from "../scalar/int64";
import { i16at, i8at, set32 } from "../scalar/mem";
import { keepTouches } from "./touch-ahead";

export function gemvQ8(
  out: usize, w: usize, wM: usize, wE: usize,
  x: usize, xM: i32, xE: i32, n: i32, d: i32, outFrac: i32,
): void {
  const n16 = n & ~15;
  // Four rows per pass share each activation load (and the loop's bookkeeping): measured
  // fewer instructions per weight on AArch64 and x86-64 wasm2c builds; each row's sum is
  // the same integers in the same lanes as one row at a time.
  // Out of cache, four row streams at once defeat the hardware prefetcher, so each step of
  // 16 columns also touches one 64-byte line of the next four rows (./touch-ahead.ts):
  // 4 n bytes in n / 16 steps, spread through the pass. Measured in V8 on the 110M shape's
  // int8 GEMVs of one token (each matrix its own buffer): one row at a time 155 tokens/s,
  // four rows touching the next four in one burst at the pass's start 123, spread 174.
  const block = <usize>(4 * n), wEnd = w + <usize>d * <usize>n;
  let sink = 0;
  let o = 0;
  for (; o + 4 <= d; o += 4) {
    const r0 = w + <usize>(o * n), r1 = r0 + <usize>n, r2 = r1 + <usize>n, r3 = r2 + <usize>n;
    const ahead = r0 + block, touching = ahead + block <= wEnd;
    let a0 = i32x4.splat(0), a1 = i32x4.splat(0), a2 = i32x4.splat(0), a3 = i32x4.splat(0);
    for (let j = 0; j < n16; j += 16) {
      if (touching) sink ^= load<u8>(ahead + (<usize>j << 2)); // one line of the next 4 rows
      const x0 = v128.load(x + (<usize>j << 1));
      const x1 = v128.load(x + (<usize>j << 1), 16);
      a0 = dot16(a0, v128.load(r0 + <usize>j), x0, x1);
      a1 = dot16(a1, v128.load(r1 + <usize>j), x0, x1);
      a2 = dot16(a2, v128.load(r2 + <usize>j), x0, x1);
      a3 = dot16(a3, v128.load(r3 + <usize>j), x0, x1);
    }
    finishRow(out, r0, wM, wE, x, xM, xE, n16, n, o, outFrac, a0);
    finishRow(out, r1, wM, wE, x, xM, xE, n16, n, o + 1, outFrac, a1);
    finishRow(out, r2, wM, wE, x, xM, xE, n16, n, o + 2, outFrac, a2);
    finishRow(out, r3, wM, wE, x, xM, xE, n16, n, o + 3, outFrac, a3);
  }
  keepTouches(sink);
  for (; o < d; o++) {
    const row = w + <usize>(o * n);
    let acc4 = i32x4.splat(0);
    for (let j = 0; j < n16; j += 16) acc4 = dot16(acc4, v128.load(row + <usize>j), v128.load(x + (<usize>j << 1)), v128.load(x + (<usize>j << 1), 16));
    finishRow(out, row, wM, wE, x, xM, xE, n16, n, o, outFrac, acc4);
  }
}

/** acc + the products of 16 int8 weights with 16 int16 activations, in four i32 lanes. */
// @ts-ignore: decorator
@inline function dot16(acc: v128, wv: v128, x0: v128, x1: v128): v128 {
  acc = i32x4.add(acc, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(wv), x0));
  return i32x4.add(acc, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(wv), x1));
}

/** The four lanes' sum, the n % 16 tail, and the scaled output of row o. */
// @ts-ignore: decorator
@inline function finishRow(out: usize, row: usize, wM: usize, wE: usize, x: usize, xM: i32, xE: i32,
  n16: i32, n: i32, o: i32, outFrac: i32, acc4: v128): void {
  let acc = i32x4.extract_lane(acc4, 0) + i32x4.extract_lane(acc4, 1) +
    i32x4.extract_lane(acc4, 2) + i32x4.extract_lane(acc4, 3);
  for (let j = n16; j < n; j++) acc += <i32>load<i8>(row + <usize>j) * <i32>load<i16>(x + (<usize>j << 1));
  set32(out, o, mulShiftRound(acc, i16at(wM, o) * xM, i8at(wE, o) + xE - outFrac));
}
