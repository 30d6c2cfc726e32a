// int8-weight matrix-vector product with int32 accumulation and per-row requantization
// (docs/integer-spec.md §3.4): out[o] = round(sum_j W[o,j] x[j] * sW[o] * sX * 2^outFrac).
// W is int8, x holds 12-bit activations (|x| <= 2047) in int16. The inner loop is the hot
// loop of the whole model: two loads, Math.imul, an int32 add.
// |acc| <= n * 127 * 2047 < 2^29 for n <= 2048; no overflow for any n <= 8260.

import { mulShiftRound } from './int64.ts';

/**
 * out[0..d) = W[d, n] . x[n] in fixed point with `outFrac` fractional bits, saturated.
 * W is row-major int8 with per-row scales (wM[o], wE[o]); x is 12-bit in int16 with scale (xM, xE).
 */
export function gemvQ8(
  out: Int32Array, w: Int8Array, wM: Int16Array, wE: Int8Array,
  x: Int16Array, xM: number, xE: number, n: number, d: number, outFrac: number,
): void {
  for (let o = 0; o < d; o++) {
    const row = o * n;
    let acc = 0;
    for (let j = 0; j < n; j++) acc = (acc + Math.imul(w[row + j], x[j])) | 0;
    // sW * sX = wM*xM * 2^-(wE+xE), wM*xM < 2^30; the product with acc is the one int64 op.
    out[o] = mulShiftRound(acc, Math.imul(wM[o], xM), wE[o] + xE - outFrac);
  }
}
