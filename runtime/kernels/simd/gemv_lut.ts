// Low-bit LUT GEMV with WebAssembly SIMD (docs/integer-spec.md §9.2, §9.4): byte-identical
// to runtime/kernels/reference/gemv_lut.ts and to runtime/kernels/scalar/gemv_lut.ts, with
// the same exported signatures. Plain SIMD128 only (no relaxed SIMD).
//
// One i8x16.swizzle looks up 16 rows at once in a 16-byte table. The int16 table entries
// t (|t| <= 8188) are made exact in bytes by a bias and a 7-bit split: u = t + 8188 in
// [0, 16376], lo = u & 127, hi = u >> 7 (both <= 127), stored as two 16-byte tables per 4
// activations: [lo x16][hi x16] (32 bytes, the same scratch size as the scalar kernel's).
// Per 16-byte load of planes (16 rows x 8 weights of one plane):
//   idx_a = v & 15, idx_b = v >> 4 (two tables),  l = swz(lo_a, idx_a) + swz(lo_b, idx_b) <= 254,
//   h likewise; both widened to u16 and accumulated per plane (<= 16 * 254 for G <= 128),
// then per group sum_k 2^k * plane sums <= 15 * 4064 = 60960 < 2^16 (exact in u16 lanes).
// Per group in i32: S = L + 128 H - 8188 * (G/4) * (2^b - 1), the rest as the reference.
import { mulShiftRound } from "../scalar/int64";

const R: i32 = 8;
const BIAS: i32 = 8188;
const MAX_GROUPS: i32 = 1024;
const XSUM: usize = memory.data(4 * MAX_GROUPS, 16);
const OUT16: usize = memory.data(64, 16);

/** Builds the activation tables (8n bytes at `tables`, 16-byte aligned) from x: int16 [n]. */
export function lutTables(tables: usize, x: usize, n: i32): void {
  for (let s = 0; s < (n >> 2); s++) {
    const xp = x + (<usize>s << 3);
    const x0 = <i32>load<i16>(xp), x1 = <i32>load<i16>(xp, 2), x2 = <i32>load<i16>(xp, 4), x3 = <i32>load<i16>(xp, 6);
    const t = tables + (<usize>s << 5);
    for (let i = 0; i < 16; i++) {
      const u = BIAS + ((i & 1) != 0 ? x0 : 0) + ((i & 2) != 0 ? x1 : 0) + ((i & 4) != 0 ? x2 : 0) + ((i & 8) != 0 ? x3 : 0);
      store<u8>(t + <usize>i, <u8>(u & 127));
      store<u8>(t + <usize>i, <u8>(u >> 7), 16);
    }
  }
}

/** Same contract as runtime/kernels/scalar/gemv_lut.ts gemvLut. */
export function gemvLut(
  out: usize, planes: usize, groups: usize, wM: usize, wE: usize, tables: usize,
  xM: i32, xE: i32, n: i32, d: i32, bits: i32, gs: i32, outFrac: i32,
): void {
  const ng = n / gs, pairs = gs >> 3, subs = gs >> 2;
  for (let g = 0; g < ng; g++) {
    let X = 0;
    const tg = tables + (<usize>(g * subs) << 5);
    for (let s = 0; s < subs; s++) {
      const u = <i32>load<u8>(tg + (<usize>s << 5), 15) + (<i32>load<u8>(tg + (<usize>s << 5), 31) << 7);
      X += u - BIAS;
    }
    store<i32>(XSUM + (<usize>g << 2), X);
  }
  // 2 * BIAS * (number of table lookups per row and group, weighted by 2^k)
  const corr = i32x4.splat(2 * BIAS * subs * ((1 << bits) - 1));
  const half = i32x4.splat(1 << (R - 1));
  const mask = i8x16.splat(15);
  const blkBytes = <usize>(bits * pairs) << 4;
  const tiles = (d + 15) >> 4;
  for (let tile = 0; tile < tiles; tile++) {
    let blk = planes + <usize>(tile * ng) * blkBytes;
    let gp = groups + (<usize>(tile * ng) << 5);
    let tg = tables;
    let acc0 = i32x4.splat(0), acc1 = i32x4.splat(0), acc2 = i32x4.splat(0), acc3 = i32x4.splat(0);
    for (let g = 0; g < ng; g++) {
      let gl0 = i16x8.splat(0), gl1 = i16x8.splat(0), gh0 = i16x8.splat(0), gh1 = i16x8.splat(0);
      let pp = blk;
      for (let k = 0; k < bits; k++) {
        let l0 = i16x8.splat(0), l1 = i16x8.splat(0), h0 = i16x8.splat(0), h1 = i16x8.splat(0);
        let tp = tg;
        for (let p = 0; p < pairs; p++) {
          const v = v128.load(pp);
          const ia = v128.and(v, mask);
          const ib = i8x16.shr_u(v, 4);
          const l = i8x16.add(i8x16.swizzle(v128.load(tp), ia), i8x16.swizzle(v128.load(tp, 32), ib));
          const h = i8x16.add(i8x16.swizzle(v128.load(tp, 16), ia), i8x16.swizzle(v128.load(tp, 48), ib));
          l0 = i16x8.add(l0, i16x8.extend_low_i8x16_u(l));
          l1 = i16x8.add(l1, i16x8.extend_high_i8x16_u(l));
          h0 = i16x8.add(h0, i16x8.extend_low_i8x16_u(h));
          h1 = i16x8.add(h1, i16x8.extend_high_i8x16_u(h));
          pp += 16;
          tp += 64;
        }
        gl0 = i16x8.add(gl0, i16x8.shl(l0, k)); gl1 = i16x8.add(gl1, i16x8.shl(l1, k));
        gh0 = i16x8.add(gh0, i16x8.shl(h0, k)); gh1 = i16x8.add(gh1, i16x8.shl(h1, k));
      }
      const X = i32x4.splat(load<i32>(XSUM + (<usize>g << 2)));
      const gmv = v128.load(gp), zv = v128.load(gp, 16);
      const gm16a = i16x8.extend_low_i8x16_u(gmv), gm16b = i16x8.extend_high_i8x16_u(gmv);
      const z16a = i16x8.extend_low_i8x16_u(zv), z16b = i16x8.extend_high_i8x16_u(zv);
      acc0 = i32x4.add(acc0, groupTerm(i32x4.extend_low_i16x8_u(gl0), i32x4.extend_low_i16x8_u(gh0),
        i32x4.extend_low_i16x8_u(z16a), i32x4.extend_low_i16x8_u(gm16a), X, corr, half));
      acc1 = i32x4.add(acc1, groupTerm(i32x4.extend_high_i16x8_u(gl0), i32x4.extend_high_i16x8_u(gh0),
        i32x4.extend_high_i16x8_u(z16a), i32x4.extend_high_i16x8_u(gm16a), X, corr, half));
      acc2 = i32x4.add(acc2, groupTerm(i32x4.extend_low_i16x8_u(gl1), i32x4.extend_low_i16x8_u(gh1),
        i32x4.extend_low_i16x8_u(z16b), i32x4.extend_low_i16x8_u(gm16b), X, corr, half));
      acc3 = i32x4.add(acc3, groupTerm(i32x4.extend_high_i16x8_u(gl1), i32x4.extend_high_i16x8_u(gh1),
        i32x4.extend_high_i16x8_u(z16b), i32x4.extend_high_i16x8_u(gm16b), X, corr, half));
      blk += blkBytes;
      gp += 32;
      tg += <usize>subs << 5;
    }
    v128.store(OUT16, acc0); v128.store(OUT16, acc1, 16); v128.store(OUT16, acc2, 32); v128.store(OUT16, acc3, 48);
    const rmax = min(16, d - (tile << 4));
    for (let r = 0; r < rmax; r++) {
      const o = (tile << 4) + r;
      store<i32>(out + (<usize>o << 2), mulShiftRound(load<i32>(OUT16 + (<usize>r << 2)),
        <i32>load<i16>(wM + (<usize>o << 1)) * xM, <i32>load<i8>(wE + <usize>o) + xE - R - outFrac));
    }
  }
}

/** (gm * (2 S - z2 X) + 2^(R-1)) >> R for 4 rows, S = L + 128 H - bias correction. */
// @ts-ignore: decorator
@inline function groupTerm(L: v128, H: v128, z2: v128, gm: v128, X: v128, corr: v128, half: v128): v128 {
  const s2 = i32x4.sub(i32x4.shl(i32x4.add(L, i32x4.shl(H, 7)), 1), corr); // 2 S
  const dot = i32x4.sub(s2, i32x4.mul(z2, X));
  return i32x4.shr_s(i32x4.add(i32x4.mul(gm, dot), half), R);
}
