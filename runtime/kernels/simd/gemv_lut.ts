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
//   h likewise (exact in u8).
// Accumulation, per group, in u16 lanes without widening instructions: the u8 vector l read
// as 8 u16 lanes is l_even + 256 l_odd (rows 2i, 2i+1), so `all += l` (mod 2^16) and
// `odd += l >> 8` (u16 shift) are two plain ops, and at the group's end
// even = all - 256 odd (mod 2^16) is exact because the true even sum is < 2^16. The planes
// are combined by Horner's rule, highest plane first (acc = 2 acc + plane), which keeps the
// congruence; the per-group sum sum_k 2^k * plane sums <= (2^b - 1) * (G/8) * 254 < 2^16
// (60960 at b = 4, G = 128; 62992 at b = 5, G = 64; 64008 at b = 6, G = 32: the group
// sizes each b admits, lowbit-format.ts lutGroupFits).
// Lanes therefore hold even rows then odd rows; gm and z2 are split the same way and the
// outputs are put back in row order at the end of a tile.
// Per group in i32: S = L + 128 H - 8188 * (G/4) * (2^b - 1), the rest as the reference.
//
// Streaming: a matrix larger than the caches is read at a fraction of the memory bandwidth
// if the kernel only loads what it computes on (measured: 1.7 of 10-15 GB/s at b = 4; the
// hardware prefetcher does not run far enough ahead of a loop this compute-dense), and
// wasm has no prefetch instruction. So before each (tile, group) block the kernel touches
// (loads one byte of each 64-byte line of) the same block one tile ahead, and the group
// bytes one tile ahead: a short dense burst of independent loads, which the core overlaps;
// the loaded bytes are kept by ./touch-ahead.ts keepTouches. Every touched byte is
// inside the planes and groups tensors (the ranges the op's checks cover).
import { mulShiftRound } from "../scalar/int64";
import { THREAD_SLOTS, threadSlot } from "../scalar/thread-slot";
import { keepTouches, touchLines } from "./touch-ahead";

const R: i32 = 8;
const BIAS: i32 = 8188;
const MAX_GROUPS: i32 = 1024;
const XSUM_BYTES: usize = 4 * MAX_GROUPS;
const XSUM_ALL: usize = memory.data(4 * MAX_GROUPS * THREAD_SLOTS, 16);
const OUT16_ALL: usize = memory.data(64 * THREAD_SLOTS, 16);

/**
 * Builds the activation tables (8 nPad bytes at `tables`, 16-byte aligned) from x: int16 [n],
 * the activations n..nPad-1 taken as 0 (a matrix padded to whole groups; nPad % 4 == 0).
 * Entries i = 0..7 in one i16x8 (u = BIAS + the x_b of the bits b of i, selected by constant
 * lane masks), i = 8..15 the same plus x3 (u in [0, 16376] for |x| <= 2047: exact in i16);
 * then lo = u & 127 and hi = u >> 7, narrowed to bytes (both <= 127, exact).
 */
export function lutTables(tables: usize, x: usize, n: i32, nPad: i32): void {
  const full = n >> 2; // tables whose 4 activations are all in x
  for (let s = 0; s < full; s++) {
    const xp = x + (<usize>s << 3);
    table(tables + (<usize>s << 5), load<i16>(xp), load<i16>(xp, 2), load<i16>(xp, 4), load<i16>(xp, 6));
  }
  // The rest: the table straddling n (reads stop at n), then tables of zeros.
  for (let s = full; s < (nPad >> 2); s++) {
    const j = s << 2, xp = x + (<usize>j << 1);
    table(tables + (<usize>s << 5), j < n ? load<i16>(xp) : 0, j + 1 < n ? load<i16>(xp, 2) : 0,
      j + 2 < n ? load<i16>(xp, 4) : 0, j + 3 < n ? load<i16>(xp, 6) : 0);
  }
}

/** The [lo x16][hi x16] table of 4 activations at t (see lutTables). */
// @ts-ignore: decorator
@inline function table(t: usize, x0: i16, x1: i16, x2: i16, x3: i16): void {
  const m0 = i16x8(0, -1, 0, -1, 0, -1, 0, -1), m1 = i16x8(0, 0, -1, -1, 0, 0, -1, -1), m2 = i16x8(0, 0, 0, 0, -1, -1, -1, -1);
  const bias = i16x8.splat(<i16>BIAS), low7 = i16x8.splat(127);
  const a = i16x8.add(i16x8.add(bias, v128.and(i16x8.splat(x0), m0)),
    i16x8.add(v128.and(i16x8.splat(x1), m1), v128.and(i16x8.splat(x2), m2)));
  const b = i16x8.add(a, i16x8.splat(x3));
  v128.store(t, i8x16.narrow_i16x8_u(v128.and(a, low7), v128.and(b, low7)));
  v128.store(t, i8x16.narrow_i16x8_u(i16x8.shr_u(a, 7), i16x8.shr_u(b, 7)), 16);
}

/** Same contract as runtime/kernels/scalar/gemv_lut.ts gemvLut. */
export function gemvLut(
  out: usize, planes: usize, groups: usize, wM: usize, wE: usize, tables: usize,
  xM: i32, xE: i32, n: i32, d: i32, bits: i32, gs: i32, outFrac: i32,
): void {
  const ng = n / gs, pairs = gs >> 3, subs = gs >> 2;
  // This thread's scratch (one thread outside the threaded flavour: the first copy).
  const XSUM = XSUM_ALL + threadSlot() * XSUM_BYTES, OUT16 = OUT16_ALL + (threadSlot() << 6);
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
  const byteMask = i16x8.splat(255);
  const planeBytes = <usize>pairs << 4; // one plane of one (tile, group) block
  const blkBytes = <usize>bits * planeBytes; // one (tile, group) block
  const tileBytes = <usize>ng * blkBytes;
  const groupTile = <usize>ng << 5; // group bytes of one tile
  const tiles = (d + 15) >> 4;
  const planesEnd = planes + <usize>tiles * tileBytes;
  let sink = 0;
  sink ^= touchLines(planes, planes + tileBytes); // tile 0
  for (let tile = 0; tile < tiles; tile++) {
    let blk = planes + <usize>tile * tileBytes;
    let gp = groups + <usize>tile * groupTile;
    let tg = tables;
    let acc0 = i32x4.splat(0), acc1 = i32x4.splat(0), acc2 = i32x4.splat(0), acc3 = i32x4.splat(0);
    for (let g = 0; g < ng; g++) {
      const ahead = blk + tileBytes;
      if (ahead < planesEnd) {
        sink ^= touchLines(ahead, ahead + blkBytes);
        sink ^= load<u8>(gp + groupTile);
      }
      let la = i16x8.splat(0), lo = i16x8.splat(0), ha = i16x8.splat(0), ho = i16x8.splat(0);
      let pp = blk + <usize>(bits - 1) * planeBytes;
      for (let k = bits - 1; k >= 0; k--) {
        la = i16x8.shl(la, 1); lo = i16x8.shl(lo, 1); ha = i16x8.shl(ha, 1); ho = i16x8.shl(ho, 1);
        let tp = tg;
        for (let p = 0; p < pairs; p++) {
          const v = v128.load(pp);
          const ia = v128.and(v, mask);
          const ib = v128.and(i16x8.shr_u(v, 4), mask);
          const l = i8x16.add(i8x16.swizzle(v128.load(tp), ia), i8x16.swizzle(v128.load(tp, 32), ib));
          const h = i8x16.add(i8x16.swizzle(v128.load(tp, 16), ia), i8x16.swizzle(v128.load(tp, 48), ib));
          la = i16x8.add(la, l); lo = i16x8.add(lo, i16x8.shr_u(l, 8));
          ha = i16x8.add(ha, h); ho = i16x8.add(ho, i16x8.shr_u(h, 8));
          pp += 16;
          tp += 64;
        }
        pp -= planeBytes << 1; // back to the start of plane k - 1
      }
      const le = i16x8.sub(la, i16x8.shl(lo, 8)), he = i16x8.sub(ha, i16x8.shl(ho, 8)); // even rows
      const X = i32x4.splat(load<i32>(XSUM + (<usize>g << 2)));
      const gmv = v128.load(gp), zv = v128.load(gp, 16);
      const gmE = v128.and(gmv, byteMask), gmO = i16x8.shr_u(gmv, 8);
      const zE = v128.and(zv, byteMask), zO = i16x8.shr_u(zv, 8);
      // acc0: rows 0, 2, 4, 6; acc1: 8 .. 14; acc2: 1 .. 7; acc3: 9 .. 15
      acc0 = i32x4.add(acc0, groupTerm(i32x4.extend_low_i16x8_u(le), i32x4.extend_low_i16x8_u(he),
        i32x4.extend_low_i16x8_u(zE), i32x4.extend_low_i16x8_u(gmE), X, corr, half));
      acc1 = i32x4.add(acc1, groupTerm(i32x4.extend_high_i16x8_u(le), i32x4.extend_high_i16x8_u(he),
        i32x4.extend_high_i16x8_u(zE), i32x4.extend_high_i16x8_u(gmE), X, corr, half));
      acc2 = i32x4.add(acc2, groupTerm(i32x4.extend_low_i16x8_u(lo), i32x4.extend_low_i16x8_u(ho),
        i32x4.extend_low_i16x8_u(zO), i32x4.extend_low_i16x8_u(gmO), X, corr, half));
      acc3 = i32x4.add(acc3, groupTerm(i32x4.extend_high_i16x8_u(lo), i32x4.extend_high_i16x8_u(ho),
        i32x4.extend_high_i16x8_u(zO), i32x4.extend_high_i16x8_u(gmO), X, corr, half));
      blk += blkBytes;
      gp += 32;
      tg += <usize>subs << 5;
    }
    v128.store(OUT16, acc0); v128.store(OUT16, acc1, 16); v128.store(OUT16, acc2, 32); v128.store(OUT16, acc3, 48);
    const rmax = min(16, d - (tile << 4));
    for (let r = 0; r < rmax; r++) {
      const o = (tile << 4) + r;
      const at = (r >> 1) + ((r & 1) << 3); // lane of row r: even rows first
      store<i32>(out + (<usize>o << 2), mulShiftRound(load<i32>(OUT16 + (<usize>at << 2)),
        <i32>load<i16>(wM + (<usize>o << 1)) * xM, <i32>load<i8>(wE + <usize>o) + xE - R - outFrac));
    }
  }
  keepTouches(sink);
}

/** (gm * (2 S - z2 X) + 2^(R-1)) >> R for 4 rows, S = L + 128 H - bias correction. */
// @ts-ignore: decorator
@inline function groupTerm(L: v128, H: v128, z2: v128, gm: v128, X: v128, corr: v128, half: v128): v128 {
  const s2 = i32x4.sub(i32x4.shl(i32x4.add(L, i32x4.shl(H, 7)), 1), corr); // 2 S
  const dot = i32x4.sub(s2, i32x4.mul(z2, X));
  return i32x4.shr_s(i32x4.add(i32x4.mul(gm, dot), half), R);
}
