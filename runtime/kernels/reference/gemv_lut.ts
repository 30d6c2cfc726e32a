// Low-bit (b bits, any of the LUT formats') weight GEMV by table lookup, T-MAC style (docs/integer-spec.md §9.2).
// The input is the int8 path's 12-bit activation vector (|x| <= 2047, int16, one scale):
// no requantization. For every 4 consecutive activations a table of the 16 sums of their
// subsets is built once per call; each weight row's bit-plane nibbles index the tables,
// planes are combined with shifts, the zero point is folded through the group's activation
// sum, then the group mantissa and, once per row, the row and activation scales apply.
//
// Everything is exact int32 until the per-group rounding shift (R = 8) and the per-row
// mulShiftRound; §9.3 proves the bounds. The scalar and SIMD kernels compute exactly this.
//
// Layouts (compiler/quantize/lowbit-format.ts): planes tiled [tile][group][plane][pair][16
// rows]; groups [tile][group][gm x16, z2 x16]; row scales wM (int16), wE (int8) [d].

import { mulShiftRound } from './int64.ts';

/** Per-group rounding shift R: c = (gm * dot + 2^(R-1)) >> R. */
export const LUT_GROUP_SHIFT = 8;

/**
 * t[16 s + i] = sum of x[4s + b] over the bits b set in i (i = 0..15), for s < nPad/4, where
 * x[j] for j >= n counts as 0 (the pad columns of a matrix stored as whole groups: x holds n
 * activations, the tables cover nPad >= n, a multiple of 4). |t| <= 4 * 2047 = 8188. t must
 * hold 4 nPad entries.
 */
export function lutTables(t: Int16Array, x: Int16Array, n: number, nPad: number): void {
  const xj = (j: number) => (j < n ? x[j] : 0);
  for (let s = 0; s < nPad >> 2; s++) {
    const x0 = xj(4 * s), x1 = xj(4 * s + 1), x2 = xj(4 * s + 2), x3 = xj(4 * s + 3);
    for (let i = 0; i < 16; i++) {
      t[16 * s + i] = ((i & 1) !== 0 ? x0 : 0) + ((i & 2) !== 0 ? x1 : 0) + ((i & 4) !== 0 ? x2 : 0) + ((i & 8) !== 0 ? x3 : 0);
    }
  }
}

/**
 * out[0..d) = W[d, n] . x in fixed point with `outFrac` fractional bits, saturated, for a
 * `bits`-bit matrix with groups of `gs` columns (a group size its format admits:
 * compiler/quantize/lowbit-format.ts lutGroupSizes); `t` from lutTables(x).
 *   per row o, group g:  S = sum_k 2^k sum_{s in g} t[s][nibble(o, k, s)]   (= sum_j x_j q_oj)
 *                        X = sum_{s in g} t[s][15]                          (= sum_j x_j)
 *                        dot = 2 S - z2[o,g] X;   c = (gm[o,g] * dot + 2^(R-1)) >> R
 *   acc = sum_g c;       out[o] = mulShiftRound(acc, wM[o] * xM, wE[o] + xE - R - outFrac)
 */
export function gemvLut(
  out: Int32Array, planes: Uint8Array, groups: Uint8Array, wM: Int16Array, wE: Int8Array,
  t: Int16Array, xM: number, xE: number, n: number, d: number, bits: number, gs: number, outFrac: number,
): void {
  const ng = n >> (31 - Math.clz32(gs)); // gs is a power of two (lutGroupSizes)
  const pairs = gs >> 3;
  for (let o = 0; o < d; o++) {
    const tile = o >> 4, r = o & 15;
    let acc = 0;
    for (let g = 0; g < ng; g++) {
      const blk = (tile * ng + g) * bits * pairs; // first 16-byte line of (tile, group)
      let S = 0, X = 0;
      for (let k = 0; k < bits; k++) {
        let sk = 0;
        for (let p = 0; p < pairs; p++) {
          const byte = planes[((blk + k * pairs + p) << 4) + r];
          const s0 = g * (gs >> 2) + 2 * p; // the two sub-groups (tables) of this byte
          sk += t[16 * s0 + (byte & 15)] + t[16 * (s0 + 1) + (byte >> 4)];
        }
        S += sk << k;
      }
      for (let s = g * (gs >> 2); s < (g + 1) * (gs >> 2); s++) X += t[16 * s + 15];
      const gb = ((tile * ng + g) << 5) + r;
      const gm = groups[gb], z2 = groups[gb + 16];
      const dot = 2 * S - Math.imul(z2, X);
      acc += (Math.imul(gm, dot) + (1 << (LUT_GROUP_SHIFT - 1))) >> LUT_GROUP_SHIFT;
    }
    out[o] = mulShiftRound(acc, Math.imul(wM[o], xM), wE[o] + xE - LUT_GROUP_SHIFT - outFrac);
  }
}
