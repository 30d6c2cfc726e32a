// RMSNorm fused with 12-bit quantization of its output (docs/integer-spec.md §3.3).
// y = g * x / sqrt(mean(x^2) + eps) is never formed: its quantized values are those of
// u = g * x (the 1/rms factor is common to all elements and cancels in
// q = round(2047 u / max|u|)),
// and 1/rms only enters the output scale, scale(y) = scale(u) / rms.

import { abs32, bitLength } from './arith.ts';
import { ACT_FRAC, ACT_QMAX, INV_ACT_QMAX_E, INV_ACT_QMAX_M, ZERO_SCALE_E, ZERO_SCALE_M } from './constants.ts';
import { quantizeAct } from './quantize_act.ts';
import { mulScale, rsqrtScale } from './scale.ts';

const T = new Int32Array(4); // scratch scales: [0..1] 1/rms, [2..3] 1/sqrt(N)

/**
 * q[0..n) = 12-bit quantized rmsnorm(x) * gain, scale[so..so+1] = its scale. x is Q16 (the residual
 * stream), gain int16 with `gainFrac` fractional bits; u is int32 scratch of n elements.
 * Model constants: epsQ32 = round(eps * 2^32) (llama2.c's 1e-5 -> 42950); sqShift =
 * ceil(log2(n)); (dimScaleM, dimScaleE) = sqrt(n / 2^sqShift) as a scale.
 */
export function rmsnormQuant(
  q: Int16Array, x: Int32Array, n: number, gain: Int16Array, gainFrac: number,
  epsQ32: number, sqShift: number, dimScaleM: number, dimScaleE: number,
  u: Int32Array, scale: Int32Array, so: number,
): void {
  let amax = 0;
  for (let i = 0; i < n; i++) { const a = abs32(x[i]); if (a > amax) amax = a; }
  if (amax === 0) {
    for (let i = 0; i < n; i++) q[i] = 0;
    scale[so] = ZERO_SCALE_M; scale[so + 1] = ZERO_SCALE_E;
    return;
  }
  // x' = x >> k: 15-bit mantissas, |x'| <= 2^15, so x'^2 <= 2^30 and the sum of n terms,
  // each shifted right by sqShift >= log2(n), stays <= 2^30.
  const k = bitLength(amax) - 15;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const xi = k >= 0 ? x[i] >> k : x[i] << -k;
    u[i] = xi;
    sum = sum + (Math.imul(xi, xi) >> sqShift);
  }
  // eps in the units of sum is epsN * 2^-t (epsN = eps * n * 2^32, t = 2k + sqShift); it
  // exceeds 2^30 when rms(x) < sqrt(eps)/2. Then both terms are shifted right by an even j
  // (eps dominates, sum's low bits do not matter) so that their sum fits 31 bits, and
  // 1/sqrt gets the factor 2^(-j/2) back.
  const t = 2 * k + sqShift;
  const epsN = Math.imul(epsQ32, n); // < 2^31 (checked by the compiler)
  const over = bitLength(epsN) - t - 30;
  const j = over > 0 ? (over + 1) & -2 : 0;
  const st = t + j;
  const epsS = st >= 0 ? (st >= 31 ? 0 : epsN >> st) : epsN << -st; // < 2^30
  // 1/rms = sqrt(n / 2^sqShift) * 2^(16 - k) / sqrt(sum + epsS * 2^-t).
  rsqrtScale((sum >> j) + epsS, T, 2);
  T[3] = T[3] + (j >> 1);
  mulScale(T[2], T[3], dimScaleM, dimScaleE, T, 0);
  T[1] = T[1] - (ACT_FRAC - k);
  // u = x' * g (|u| < 2^30), a fixed-point value with ACT_FRAC - k + gainFrac fractional bits.
  for (let i = 0; i < n; i++) u[i] = Math.imul(u[i], gain[i]);
  quantizeAct(q, 0, u, 0, n, ACT_FRAC - k + gainFrac, ACT_QMAX, INV_ACT_QMAX_M, INV_ACT_QMAX_E, scale, so);
  mulScale(scale[so], scale[so + 1], T[0], T[1], scale, so);
}
