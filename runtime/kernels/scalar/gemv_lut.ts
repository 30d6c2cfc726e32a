// Low-bit LUT GEMV without SIMD (docs/integer-spec.md §9.2), for engines without it
// (wasm2c builds, Cortex-M, RISC-V): byte-identical to runtime/kernels/reference/gemv_lut.ts.
// runtime/kernels/simd/gemv_lut.ts exports the same two functions with the same
// signatures (its table scratch has its own private format, the same size: 8n bytes).
//
// Tables here: int16, 16 entries per 4 activations (32 bytes), t[s][i] = sum of x[4s+b]
// over the bits b of i. Weights are read in place: planes tiled [tile][group][plane]
// [pair][16 rows], group bytes [tile][group][gm x16][z2 x16] (lowbit-format.ts).
import { mulShiftRound } from "./int64";

/** Per-group rounding shift R (spec §9.2). */
const R: i32 = 8;
/** Largest number of groups per row (n <= 32768 at group size 32). */
const MAX_GROUPS: i32 = 1024;
const XSUM: usize = memory.data(4 * MAX_GROUPS, 16);

/** Builds the activation tables (8n bytes at `tables`) from x: int16 [n], n % 4 == 0. */
export function lutTables(tables: usize, x: usize, n: i32): void {
  for (let s = 0; s < (n >> 2); s++) {
    const xp = x + (<usize>s << 3);
    const x0 = <i32>load<i16>(xp), x1 = <i32>load<i16>(xp, 2), x2 = <i32>load<i16>(xp, 4), x3 = <i32>load<i16>(xp, 6);
    const t = tables + (<usize>s << 5);
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
}

/**
 * out[0..d) (int32) = W . x with `outFrac` fractional bits: a `bits`-bit (1..6) matrix of
 * d rows, n columns, groups of `gs` (32/64/128) columns, row scales wM (int16 [d]),
 * wE (int8 [d]); x's scale (xM, xE); `tables` from lutTables(x).
 */
export function gemvLut(
  out: usize, planes: usize, groups: usize, wM: usize, wE: usize, tables: usize,
  xM: i32, xE: i32, n: i32, d: i32, bits: i32, gs: i32, outFrac: i32,
): void {
  const ng = n / gs, pairs = gs >> 3, subs = gs >> 2;
  // X_g = sum of the group's activations = sum of its tables' entry 15.
  for (let g = 0; g < ng; g++) {
    let X = 0;
    const tg = tables + (<usize>(g * subs) << 5);
    for (let s = 0; s < subs; s++) X += <i32>load<i16>(tg + (<usize>s << 5), 30);
    store<i32>(XSUM + (<usize>g << 2), X);
  }
  const blkBytes = <usize>(bits * pairs) << 4; // bytes of one (tile, group) block of planes
  const tiles = (d + 15) >> 4;
  for (let tile = 0; tile < tiles; tile++) {
    const rmax = min(16, d - (tile << 4));
    for (let r = 0; r < rmax; r++) {
      let acc = 0;
      let blk = planes + <usize>(tile * ng) * blkBytes + <usize>r;
      let gp = groups + (<usize>(tile * ng) << 5) + <usize>r;
      let tg = tables;
      for (let g = 0; g < ng; g++) {
        let S = 0;
        let pp = blk;
        for (let k = 0; k < bits; k++) {
          let sk = 0;
          let tp = tg;
          for (let p = 0; p < pairs; p++) {
            const byte = <usize>load<u8>(pp);
            sk += <i32>load<i16>(tp + ((byte & 15) << 1)) + <i32>load<i16>(tp + ((byte >> 4) << 1), 32);
            pp += 16;
            tp += 64;
          }
          S += sk << k;
        }
        const gm = <i32>load<u8>(gp), z2 = <i32>load<u8>(gp, 16);
        const dot = 2 * S - z2 * load<i32>(XSUM + (<usize>g << 2));
        acc += (gm * dot + (1 << (R - 1))) >> R;
        blk += blkBytes;
        gp += 32;
        tg += <usize>subs << 5;
      }
      const o = (tile << 4) + r;
      store<i32>(out + (<usize>o << 2), mulShiftRound(acc, <i32>load<i16>(wM + (<usize>o << 1)) * xM, <i32>load<i8>(wE + <usize>o) + xE - R - outFrac));
    }
  }
}
