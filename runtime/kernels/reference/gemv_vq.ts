// vq2 GEMV (docs/integer-spec.md §9.7.2): out[o] = round(Σ_j ŵ[o, j] x[j] · s · sX · 2^outFrac)
// with ŵ[o, 2p + t] = E[c(o, p)][t]: pairs of weights as 5-bit codes c into the matrix's
// codebook E (int8 [32, 2]) times one matrix scale s = (wM, wE). The formula, pair by pair:
// the integer semantics the scalar and SIMD kernels (runtime/kernels/{scalar,simd}/gemv_vq.ts)
// reproduce byte for byte. |acc| <= n · 2047 · 127 < 2^31 for n <= 8260; a codebook holding
// -128 (never written by the quantizer) wraps modulo 2^32, as every kernel does.
import { mulShiftRound } from './int64.ts';

/** Bytes of one (tile of 16 rows, block of 16 columns) of codes (§9.7.1). */
export const VQ2_BLOCK_BYTES = 80;

/** The 5-bit code of pair p of row o in the tiled codes of a matrix with `blocks` = n / 16. */
export function vq2CodeAt(codes: Uint8Array, o: number, p: number, blocks: number): number {
  const base = ((o >> 4) * blocks + (p >> 3)) * VQ2_BLOCK_BYTES, r = o & 15, i = p & 7;
  const dir = (codes[base + 16 * (i >> 1) + r] >> ((i & 1) << 2)) & 15;
  return dir | (((codes[base + 64 + r] >> i) & 1) << 4);
}

/**
 * out[0..d) = Ŵ[d, n] · x[n] with `outFrac` fractional bits: codes tiled as §9.7.1, codebook
 * int8 [32, 2], matrix scale (wM, wE); x 12-bit in int16 with scale (xM, xE); n % 16 == 0.
 */
export function gemvVq(
  out: Int32Array, codes: Uint8Array, codebook: Int8Array, wM: number, wE: number,
  x: Int16Array, xM: number, xE: number, n: number, d: number, outFrac: number,
): void {
  const blocks = n >> 4, m = Math.imul(wM, xM), shift = wE + xE - outFrac;
  for (let o = 0; o < d; o++) {
    let acc = 0;
    for (let p = 0; p < n >> 1; p++) {
      const c = vq2CodeAt(codes, o, p, blocks);
      acc = (acc + Math.imul(x[2 * p], codebook[2 * c]) + Math.imul(x[2 * p + 1], codebook[2 * c + 1])) | 0;
    }
    out[o] = mulShiftRound(acc, m, shift);
  }
}
