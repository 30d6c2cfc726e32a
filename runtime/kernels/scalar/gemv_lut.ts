// Low-bit LUT GEMV without SIMD (docs/integer-spec.md §9.2), for engines without it
// (wasm2c builds, Cortex-M, RISC-V): byte-identical to runtime/kernels/reference/gemv_lut.ts.
// runtime/kernels/simd/gemv_lut.ts exports the same two functions with the same
// signatures (its table scratch has its own private format, the same size: 8n bytes).
//
// Tables here: int16, 16 entries per 4 activations (32 bytes), t[s][i] = sum of x[4s+b]
// over the bits b of i. Weights are read in place: planes tiled [tile][group][plane]
// [pair][16 rows], group bytes [tile][group][gm x16][z2 x16] (lowbit-format.ts).
// gemvLut widens the tables of 256 columns at a time into 256-entry pair tables (a planes
// byte, 8 weights of one plane, is one lookup instead of two nibble lookups), in a 16 KB
// static that stays in L1, and runs every tile over that chunk, four rows per u32 load of a
// planes line; the per-row sums over the groups are kept in `out` between chunks.
import { mulShiftRound } from "./int64";
import { THREAD_SLOTS, threadSlot } from "./thread-slot";

/** Per-group rounding shift R (spec §9.2). */
const R: i32 = 8;
/** Largest number of groups per row (n <= 32768 at group size 32). */
const MAX_GROUPS: i32 = 1024;
const XSUM_BYTES: usize = 4 * MAX_GROUPS;
const XSUM_ALL: usize = memory.data(4 * MAX_GROUPS * THREAD_SLOTS, 16);
/** Columns per chunk of pair tables (a multiple of every G; 512 bytes of tables per 8 columns). */
const CHUNK_COLS: i32 = 256;
/** Pair tables of one chunk: [pair q < CHUNK_COLS/8][byte v < 256] int16 (16 KB, in L1). */
const PAIRS_BYTES: usize = (CHUNK_COLS >> 3) << 9;
const PAIRS_ALL: usize = memory.data(((CHUNK_COLS >> 3) << 9) * THREAD_SLOTS, 16);

/**
 * Builds the activation tables (8 nPad bytes at `tables`) from x: int16 [n], the
 * activations n..nPad-1 taken as 0 (a matrix padded to whole groups); nPad % 4 == 0, nPad >= n.
 */
export function lutTables(tables: usize, x: usize, n: i32, nPad: i32): void {
  const full = n >> 2; // tables whose 4 activations are all in x
  for (let s = 0; s < full; s++) {
    const xp = x + (<usize>s << 3);
    table(tables + (<usize>s << 5), <i32>load<i16>(xp), <i32>load<i16>(xp, 2), <i32>load<i16>(xp, 4), <i32>load<i16>(xp, 6));
  }
  // The rest: the table straddling n (reads stop at n), then tables of zeros.
  for (let s = full; s < (nPad >> 2); s++) {
    const j = s << 2, xp = x + (<usize>j << 1);
    table(tables + (<usize>s << 5), j < n ? <i32>load<i16>(xp) : 0, j + 1 < n ? <i32>load<i16>(xp, 2) : 0,
      j + 2 < n ? <i32>load<i16>(xp, 4) : 0, j + 3 < n ? <i32>load<i16>(xp, 6) : 0);
  }
}

/** The 16-entry table of 4 activations at t: entry i = the sum of x_b over the bits b of i. */
// @ts-ignore: decorator
@inline function table(t: usize, x0: i32, x1: i32, x2: i32, x3: i32): void {
    store<i16>(t, 0);
    store<i16>(t, x0, 2);
    store<i16>(t, x1, 4); store<i16>(t, x0 + x1, 6);
    const a = x2;
    store<i16>(t, a, 8); store<i16>(t, a + x0, 10); store<i16>(t, a + x1, 12); store<i16>(t, a + x0 + x1, 14);
    const b = x3;
    store<i16>(t, b, 16); store<i16>(t, b + x0, 18); store<i16>(t, b + x1, 20); store<i16>(t, b + x0 + x1, 22);
    const c = x2 + x3;
    store<i16>(t, c, 24); store<i16>(t, c + x0, 26); store<i16>(t, c + x1, 28); store<i16>(t, c + x0 + x1, 30);
}

/** The 256-entry pair table of two 16-entry tables ta (low nibble) and ta + 32 (high nibble). */
// @ts-ignore: decorator
@inline function buildPair(pt: usize, ta: usize): void {
  const l0 = <i32>load<i16>(ta), l1 = <i32>load<i16>(ta, 2), l2 = <i32>load<i16>(ta, 4), l3 = <i32>load<i16>(ta, 6);
  const l4 = <i32>load<i16>(ta, 8), l5 = <i32>load<i16>(ta, 10), l6 = <i32>load<i16>(ta, 12), l7 = <i32>load<i16>(ta, 14);
  const l8 = <i32>load<i16>(ta, 16), l9 = <i32>load<i16>(ta, 18), l10 = <i32>load<i16>(ta, 20), l11 = <i32>load<i16>(ta, 22);
  const l12 = <i32>load<i16>(ta, 24), l13 = <i32>load<i16>(ta, 26), l14 = <i32>load<i16>(ta, 28), l15 = <i32>load<i16>(ta, 30);
  for (let hi = 0; hi < 16; hi++) {
    const h = <i32>load<i16>(ta + 32 + (<usize>hi << 1));
    const p = pt + (<usize>hi << 5);
    store<i16>(p, l0 + h); store<i16>(p, l1 + h, 2); store<i16>(p, l2 + h, 4); store<i16>(p, l3 + h, 6);
    store<i16>(p, l4 + h, 8); store<i16>(p, l5 + h, 10); store<i16>(p, l6 + h, 12); store<i16>(p, l7 + h, 14);
    store<i16>(p, l8 + h, 16); store<i16>(p, l9 + h, 18); store<i16>(p, l10 + h, 20); store<i16>(p, l11 + h, 22);
    store<i16>(p, l12 + h, 24); store<i16>(p, l13 + h, 26); store<i16>(p, l14 + h, 28); store<i16>(p, l15 + h, 30);
  }
}

/**
 * out[0..d) (int32) = W . x with `outFrac` fractional bits: a `bits`-bit matrix of
 * d rows, n columns, groups of `gs` columns (a LUT format's bits and group size), row scales wM (int16 [d]),
 * wE (int8 [d]); x's scale (xM, xE); `tables` from lutTables(x).
 */
export function gemvLut(
  out: usize, planes: usize, groups: usize, wM: usize, wE: usize, tables: usize,
  xM: i32, xE: i32, n: i32, d: i32, bits: i32, gs: i32, outFrac: i32,
): void {
  const ng = n / gs, pairs = gs >> 3, subs = gs >> 2;
  // This thread's scratch (one thread outside the threaded flavour: the first copy).
  const XSUM = XSUM_ALL + threadSlot() * XSUM_BYTES, PAIRS = PAIRS_ALL + threadSlot() * PAIRS_BYTES;
  // X_g = sum of the group's activations = sum of its tables' entry 15.
  for (let g = 0; g < ng; g++) {
    let X = 0;
    const tg = tables + (<usize>(g * subs) << 5);
    for (let s = 0; s < subs; s++) X += <i32>load<i16>(tg + (<usize>s << 5), 30);
    store<i32>(XSUM + (<usize>g << 2), X);
  }
  const planeBytes = <usize>pairs << 4; // one plane of one (tile, group) block
  const blkBytes = <usize>bits * planeBytes; // one (tile, group) block of planes
  const tiles = (d + 15) >> 4;
  const chunk = max(1, CHUNK_COLS / gs); // groups per chunk
  for (let g0 = 0; g0 < ng; g0 += chunk) {
    const g1 = min(ng, g0 + chunk);
    // Pair tables of the chunk: PAIRS[q][v] = t[2q][v & 15] + t[2q + 1][v >> 4].
    const np = (g1 - g0) * pairs;
    const t0 = tables + (<usize>(g0 * subs) << 5);
    for (let q = 0; q < np; q++) buildPair(PAIRS + (<usize>q << 9), t0 + (<usize>q << 6));
    for (let tile = 0; tile < tiles; tile++) {
      const rmax = min(16, d - (tile << 4));
      const blk0 = planes + <usize>(tile * ng + g0) * blkBytes;
      const gp0 = groups + (<usize>(tile * ng + g0) << 5);
      // Four rows at a time: one u32 load of a planes line gives their four bytes (a padded
      // last tile's rows >= d are computed from its zero bytes and not stored).
      for (let r = 0; r < rmax; r += 4) {
        let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        let pp = blk0 + <usize>r;
        let gp = gp0 + <usize>r;
        let tg = PAIRS;
        for (let g = g0; g < g1; g++) {
          let S0 = 0, S1 = 0, S2 = 0, S3 = 0;
          for (let k = 0; k < bits; k++) {
            let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            let tp = tg;
            for (let p = 0; p < pairs; p++) {
              const w = load<u32>(pp);
              s0 += <i32>load<i16>(tp + ((w & 255) << 1));
              s1 += <i32>load<i16>(tp + ((w >> 7) & 510));
              s2 += <i32>load<i16>(tp + ((w >> 15) & 510));
              s3 += <i32>load<i16>(tp + ((w >> 23) & 510));
              pp += 16;
              tp += 512;
            }
            S0 += s0 << k; S1 += s1 << k; S2 += s2 << k; S3 += s3 << k;
          }
          const X = load<i32>(XSUM + (<usize>g << 2));
          const gm = load<u32>(gp), z2 = load<u32>(gp, 16);
          a0 += (<i32>(gm & 255) * (2 * S0 - <i32>(z2 & 255) * X) + (1 << (R - 1))) >> R;
          a1 += (<i32>((gm >> 8) & 255) * (2 * S1 - <i32>((z2 >> 8) & 255) * X) + (1 << (R - 1))) >> R;
          a2 += (<i32>((gm >> 16) & 255) * (2 * S2 - <i32>((z2 >> 16) & 255) * X) + (1 << (R - 1))) >> R;
          a3 += (<i32>(gm >> 24) * (2 * S3 - <i32>(z2 >> 24) * X) + (1 << (R - 1))) >> R;
          gp += 32;
          tg += <usize>pairs << 9;
        }
        // Per-row sums over the chunks are kept in out (integers: any order gives the same).
        const op = out + (<usize>((tile << 4) + r) << 2);
        if (g0 > 0) {
          a0 += load<i32>(op);
          if (r + 1 < rmax) a1 += load<i32>(op, 4);
          if (r + 2 < rmax) a2 += load<i32>(op, 8);
          if (r + 3 < rmax) a3 += load<i32>(op, 12);
        }
        store<i32>(op, a0);
        if (r + 1 < rmax) store<i32>(op, a1, 4);
        if (r + 2 < rmax) store<i32>(op, a2, 8);
        if (r + 3 < rmax) store<i32>(op, a3, 12);
      }
    }
  }
  for (let o = 0; o < d; o++) {
    const op = out + (<usize>o << 2);
    store<i32>(op, mulShiftRound(load<i32>(op), <i32>load<i16>(wM + (<usize>o << 1)) * xM, <i32>load<i8>(wE + <usize>o) + xE - R - outFrac));
  }
}
