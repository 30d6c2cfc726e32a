// Backward of RMSNorm (docs/integer-spec.md §13.2). Forward: y = g * x * r with
// r = 1/sqrt(mean(x^2) + eps), the real-valued output that rmsnormQuant's 12-bit values
// approximate (straight-through estimator for that quantization). Backward, dy Q24:
//   dx_i = r g_i dy_i - (r^3 / n) x_i S,   S = sum_j g_j dy_j x_j,
// with r computed by exactly the steps of rmsnormQuant (invRmsScale below).

import { bitLength, satSub } from './arith.ts';
import { ACT_FRAC, GRAD_FRAC } from './constants.ts';
import { mulShiftRound } from './int64.ts';
import { mulScale, recipScale, rsqrtScale } from './scale.ts';
import { maxBits, mulShiftAny, shiftBy } from './train_arith.ts';

/**
 * 1/rms(x) = 1/sqrt(mean((x/2^16)^2) + eps) as a scale into out[o], out[o+1]: the steps of
 * rmsnormQuant (same truncations), which keeps its value as the scale of its output.
 * Also valid for x = 0 (then 1/sqrt(eps), up to the eps constant's rounding).
 */
export function invRmsScale(
  x: Int32Array, n: number, epsQ32: number, sqShift: number, dimScaleM: number, dimScaleE: number,
  out: Int32Array, o: number,
): void {
  const k = maxBits(x, 0, n) - 15;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const xi = shiftBy(x[i], k);
    sum = sum + (Math.imul(xi, xi) >> sqShift);
  }
  const t = 2 * k + sqShift;
  const epsN = Math.imul(epsQ32, n);
  const over = bitLength(epsN) - t - 30;
  const j = over > 0 ? (over + 1) & -2 : 0;
  const st = t + j;
  const epsS = st >= 0 ? (st >= 31 ? 0 : epsN >> st) : epsN << -st;
  rsqrtScale((sum >> j) + epsS, out, o);
  out[o + 1] = out[o + 1] + (j >> 1);
  mulScale(out[o], out[o + 1], dimScaleM, dimScaleE, out, o);
  out[o + 1] = out[o + 1] - (ACT_FRAC - k);
}

/** Scratch: 8 int32 scale words (AssemblyScript: static). */
export class RmsnormBackwardScratch {
  readonly sc = new Int32Array(8);
  constructor(_n?: number) {}
}

/**
 * dx[0..n) = the gradient of the loss with respect to x (Q16 residual), given dy (Q24) with
 * respect to y = rmsnorm(x) * gain; gain int16 with gainFrac fractional bits; the model
 * constants as for rmsnormQuant. dx is Q24, overwritten; it may alias dy or x (the sums come
 * first, then element i is read before it is written).
 */
export function rmsnormBackward(
  dx: Int32Array, dy: Int32Array, x: Int32Array, n: number, gain: Int16Array, gainFrac: number,
  epsQ32: number, sqShift: number, dimScaleM: number, dimScaleE: number, s: RmsnormBackwardScratch,
): void {
  const sc = s.sc;
  invRmsScale(x, n, epsQ32, sqShift, dimScaleM, dimScaleE, sc, 0); // r = sc[0] 2^-sc[1]
  const rm = sc[0], re = sc[1];
  // S = sum_j g_j dy_j x_j on 15-bit mantissas: x' = x >> kx, dy' = dy >> kd (|.| <= 2^15),
  // p = x' g (|p| < 2^30), each term p dy' / 2^(15 + sqShift) (|.| < 2^(30 - sqShift)),
  // so the sum of n <= 2^sqShift terms stays below 2^30.
  const kx = maxBits(x, 0, n) - 15, kd = maxBits(dy, 0, n) - 15;
  let S = 0;
  for (let i = 0; i < n; i++) {
    const p = Math.imul(shiftBy(x[i], kx), gain[i]);
    S = S + mulShiftRound(p, shiftBy(dy[i], kd), 15 + sqShift);
  }
  // S has value S * 2^sExp: 2^(15 + sqShift) * 2^(kx - 16) * 2^-gainFrac * 2^(kd - 24).
  const sExp = 15 + sqShift + kx - ACT_FRAC - gainFrac + kd - GRAD_FRAC;
  // c = r^3 / n as a scale; S to a 15-bit mantissa Sm * 2^ks; coefficient Sm * cm < 2^30.
  mulScale(rm, re, rm, re, sc, 2);
  mulScale(sc[2], sc[3], rm, re, sc, 2);
  recipScale(n, sc, 4);
  mulScale(sc[2], sc[3], sc[4], sc[5], sc, 2);
  const cm = sc[2], ce = sc[3];
  let coef = 0, cShift = 0;
  if (S !== 0) {
    const ks = bitLength(S < 0 ? -S : S) - 15;
    coef = Math.imul(shiftBy(S, ks), cm);
    // term2 (Q24) = x' 2^(kx-16) * coef 2^(ks + sExp - ce) * 2^24.
    cShift = ce - ks - sExp - kx + ACT_FRAC - GRAD_FRAC;
  }
  // term1 (Q24) = dy * g * r: one int64 product with the multiplier g * rm (|.| < 2^30).
  for (let i = 0; i < n; i++) {
    const t1 = mulShiftAny(dy[i], Math.imul(gain[i], rm), re + gainFrac);
    const t2 = coef === 0 ? 0 : mulShiftAny(shiftBy(x[i], kx), coef, cShift);
    dx[i] = satSub(t1, t2);
  }
}
