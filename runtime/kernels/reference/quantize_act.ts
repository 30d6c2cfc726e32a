// Dynamic symmetric quantization of an int32 fixed-point vector (docs/integer-spec.md §3.2):
// q[i] = round(v[i] * qmax / amax), scale = amax / qmax, where amax = max |v[i]|. Used for
// GEMV inputs, the query and each head of the K cache (12-bit, qmax 2047, in int16) and
// each head of the V cache (int8, qmax 127).

import { abs32, bitLength, divRound } from './arith.ts';
import { ZERO_SCALE_E, ZERO_SCALE_M } from './constants.ts';
import { mulScale } from './scale.ts';

/**
 * Quantizes v[vo .. vo+n) (fixed point with `frac` fractional bits) into q[qo .. qo+n)
 * with |q| <= qmax (127 or 2047; (invM, invE) is 1/qmax as a scale) and writes the scale
 * of q to (scale[so], scale[so+1]).
 * AssemblyScript: generic over the element type of q (i8 or i16).
 */
export function quantizeAct(
  q: Int8Array | Int16Array, qo: number, v: Int32Array, vo: number, n: number, frac: number,
  qmax: number, invM: number, invE: number, scale: Int32Array, so: number,
): void {
  let amax = 0;
  for (let i = 0; i < n; i++) { const a = abs32(v[vo + i]); if (a > amax) amax = a; }
  if (amax === 0) {
    for (let i = 0; i < n; i++) q[qo + i] = 0;
    scale[so] = ZERO_SCALE_M; scale[so + 1] = ZERO_SCALE_E;
    return;
  }
  // Block-normalize to 15-bit mantissas: amax' = amax >> k in [2^14, 2^15) (floor shifts;
  // the bits dropped are below 2^-14 of amax and do not reach an int16's last bit).
  const k = bitLength(amax) - 15;
  const an = k >= 0 ? amax >> k : amax << -k;
  // q = v' * qmax / amax' via the reciprocal r = round(qmax * 2^K / amax'), K chosen so
  // that |v'| * r + 2^(K-1) < 2^31: |v'| <= 2^15 and r <= qmax * 2^(K-14) < 2^16
  // (qmax 127: K = 23, r <= 65024; qmax 2047: K = 19, r <= 65504).
  const K = 30 - bitLength(qmax);
  const r = divRound(qmax << K, an);
  const half = 1 << (K - 1);
  for (let i = 0; i < n; i++) {
    const x = v[vo + i];
    const xn = k >= 0 ? x >> k : x << -k;
    let t = (Math.imul(xn, r) + half) >> K;
    if (t > qmax) t = qmax; else if (t < -qmax) t = -qmax;
    q[qo + i] = t;
  }
  mulScale(an, frac - k, invM, invE, scale, so); // amax / qmax
}
