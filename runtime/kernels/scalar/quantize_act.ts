// Dynamic symmetric quantization of an int32 fixed-point vector (docs/integer-spec.md
// §3.2). Port of runtime/kernels/reference/quantize_act.ts, generic over the element type
// of q (i8 for the V cache, i16 for 12-bit activations).
import { abs32, bitLength, divRound } from "./arith";
import { ZERO_SCALE_E, ZERO_SCALE_M } from "./constants";
import { i32at, set32 } from "./mem";
import { mulScale } from "./scale";

/** Step 2's shift k for amax > 0: v' = v >> k (or << -k) puts amax' = amax >> k in [2^14, 2^15). */
// @ts-ignore: decorator
@inline export function actShift(amax: i32): i32 {
  return bitLength(amax) - 15;
}

/** Step 3's reciprocal bits K: q = (v'·r + 2^(K-1)) >> K with r = round(qmax·2^K / amax'), all in int32. */
// @ts-ignore: decorator
@inline export function actRecipBits(qmax: i32): i32 {
  return 30 - bitLength(qmax);
}

/**
 * Quantizes v[vo .. vo+n) (fixed point, `frac` fractional bits) into q[qo .. qo+n) with
 * |q| <= qmax ((invM, invE) = 1/qmax as a scale); the scale of q goes to scale[so..so+1].
 */
export function quantizeAct<T>(
  q: usize, qo: i32, v: usize, vo: i32, n: i32, frac: i32,
  qmax: i32, invM: i32, invE: i32, scale: usize, so: i32,
): void {
  let amax = 0;
  for (let i = 0; i < n; i++) { const a = abs32(i32at(v, vo + i)); if (a > amax) amax = a; }
  if (amax == 0) {
    for (let i = 0; i < n; i++) store<T>(q + (<usize>(qo + i) << alignof<T>()), <T>0);
    set32(scale, so, ZERO_SCALE_M); set32(scale, so + 1, ZERO_SCALE_E);
    return;
  }
  // Normalize to 15-bit mantissas: v' = v >> k, amax' in [2^14, 2^15).
  const k = actShift(amax);
  const an = k >= 0 ? amax >> k : amax << -k;
  // q = round(v' * qmax / amax') with the reciprocal r = round(qmax * 2^K / amax').
  const K = actRecipBits(qmax);
  const r = divRound(qmax << K, an);
  const half = 1 << (K - 1);
  for (let i = 0; i < n; i++) {
    const x = i32at(v, vo + i);
    const xn = k >= 0 ? x >> k : x << -k;
    let t = (xn * r + half) >> K;
    if (t > qmax) t = qmax; else if (t < -qmax) t = -qmax;
    store<T>(q + (<usize>(qo + i) << alignof<T>()), <T>t);
  }
  mulScale(an, frac - k, invM, invE, scale, so); // amax / qmax
}
