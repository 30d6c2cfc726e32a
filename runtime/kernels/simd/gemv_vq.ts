// vq2 GEMV with WebAssembly SIMD (docs/integer-spec.md §9.7.3): byte-identical to
// runtime/kernels/reference/gemv_vq.ts and runtime/kernels/scalar/gemv_vq.ts, with the same
// exported signature. Plain SIMD128 only (no relaxed SIMD).
//
// The codes are decoded to int8 weights by table lookup and multiplied in i16. The codebook
// E (int8 [32, 2]) is four 16-byte swizzle tables: coordinate t of codes 0-15 and of 16-31.
// Per 16-byte line of direction nibbles (16 rows x 2 pairs) and pair, with the pair's
// magnitude bits (one per row, from the block's bit line), c = nibble | mbit << 4 in [0, 32):
//   w_t = swz(E_t,lo, c) | swz(E_t,hi, c - 16)
// (a swizzle index >= 16 reads 0, so each lane reads exactly one of the two tables); the two
// coordinates interleaved per row by two shuffles, widened to i16 and multiplied with the pair
// (x[2p], x[2p+1]) by i32x4.dot_i16x8_s into four i32x4 row accumulators (rows 0-3, 4-7,
// 8-11, 12-15 of the tile). Every pair sum of products is <= 2 * 2047 * 128 (no wrap), the
// row sums are int32 modulo 2^32 as in the reference.
import { mulShiftRound } from "../scalar/int64";
import { THREAD_SLOTS, threadSlot } from "../scalar/thread-slot";

const BLOCK_BYTES: usize = 80;
const OUT16_ALL: usize = memory.data(64 * THREAD_SLOTS, 16);

/** One coordinate of the codewords of 16 codes c in [0, 32): the low table for c < 16, the high one else. */
// @ts-ignore: decorator
@inline function lookup(c: v128, c16: v128, lo: v128, hi: v128): v128 {
  return v128.or(i8x16.swizzle(lo, c), i8x16.swizzle(hi, c16));
}

/**
 * out i32[d] = codes (tiled, §9.7.1) x x i16[n] with the codebook i8[32 x 2] and the matrix
 * scale (wM, wE); n % 16 == 0, d rows from the first tile of `codes`.
 */
export function gemvVq(out: usize, codes: usize, codebook: usize, wM: i32, wE: i32,
  x: usize, xM: i32, xE: i32, n: i32, d: i32, outFrac: i32): void {
  const e0 = v128.load(codebook), e1 = v128.load(codebook, 16), e2 = v128.load(codebook, 32), e3 = v128.load(codebook, 48);
  const t0lo = i8x16.shuffle(e0, e1, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const t1lo = i8x16.shuffle(e0, e1, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  const t0hi = i8x16.shuffle(e2, e3, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const t1hi = i8x16.shuffle(e2, e3, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  const mask = i8x16.splat(15), one = i8x16.splat(1), sixteen = i8x16.splat(16);
  const outs = OUT16_ALL + threadSlot() * 64;
  const blocks = n >> 4, m = wM * xM, shift = wE + xE - outFrac;
  for (let o0 = 0; o0 < d; o0 += 16) {
    let a0 = i32x4.splat(0), a1 = i32x4.splat(0), a2 = i32x4.splat(0), a3 = i32x4.splat(0);
    const tile = codes + <usize>(o0 >> 4) * <usize>blocks * BLOCK_BYTES;
    for (let b = 0; b < blocks; b++) {
      const base = tile + <usize>b * BLOCK_BYTES, xb = x + (<usize>b << 5);
      let mb = v128.load(base, 64);
      for (let l = 0; l < 4; l++) {
        const v = v128.load(base + (<usize>l << 4)), xl = xb + (<usize>l << 3);
        // The low nibble's pair, then the high nibble's (the same lines twice, unrolled); mb's
        // bit 0 is the current pair's magnitude bit.
        let c = v128.or(v128.and(v, mask), i8x16.shl(v128.and(mb, one), 4));
        let c16 = i8x16.sub(c, sixteen);
        let w0 = lookup(c, c16, t0lo, t0hi), w1 = lookup(c, c16, t1lo, t1hi);
        let p0 = i8x16.shuffle(w0, w1, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
        let p1 = i8x16.shuffle(w0, w1, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
        let xx = i32x4.splat(load<i32>(xl));
        a0 = i32x4.add(a0, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(p0), xx));
        a1 = i32x4.add(a1, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(p0), xx));
        a2 = i32x4.add(a2, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(p1), xx));
        a3 = i32x4.add(a3, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(p1), xx));
        c = v128.or(i8x16.shr_u(v, 4), v128.and(i8x16.shl(mb, 3), sixteen));
        c16 = i8x16.sub(c, sixteen);
        w0 = lookup(c, c16, t0lo, t0hi); w1 = lookup(c, c16, t1lo, t1hi);
        p0 = i8x16.shuffle(w0, w1, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
        p1 = i8x16.shuffle(w0, w1, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
        xx = i32x4.splat(load<i32>(xl, 4));
        a0 = i32x4.add(a0, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(p0), xx));
        a1 = i32x4.add(a1, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(p0), xx));
        a2 = i32x4.add(a2, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(p1), xx));
        a3 = i32x4.add(a3, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(p1), xx));
        mb = i8x16.shr_u(mb, 2);
      }
    }
    v128.store(outs, a0); v128.store(outs, a1, 16); v128.store(outs, a2, 32); v128.store(outs, a3, 48);
    const rows = min(16, d - o0);
    for (let r = 0; r < rows; r++) store<i32>(out + (<usize>(o0 + r) << 2), mulShiftRound(load<i32>(outs + (<usize>r << 2)), m, shift));
  }
}
