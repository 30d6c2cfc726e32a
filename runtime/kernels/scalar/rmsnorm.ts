// RMSNorm fused with 12-bit quantization of its output (docs/integer-spec.md §3.3).
// Port of runtime/kernels/reference/rmsnorm.ts.
import { abs32, bitLength } from "./arith";
import { ACT_FRAC, ACT_QMAX, INV_ACT_QMAX_E, INV_ACT_QMAX_M, ZERO_SCALE_E, ZERO_SCALE_M } from "./constants";
import { i16at, i32at, set16, set32 } from "./mem";
import { quantizeAct } from "./quantize_act";
import { mulScale, rsqrtScale } from "./scale";

const T: usize = memory.data(16, 16); // scratch scales: [0..1] 1/rms, [2..3] 1/sqrt(N)

/**
 * q[0..n) (int16) = 12-bit quantized rmsnorm(x) * gain, scale[so..so+1] = its scale.
 * x is Q16, gain int16 with `gainFrac` fractional bits; u is int32 scratch of n elements.
 */
export function rmsnormQuant(
  q: usize, x: usize, n: i32, gain: usize, gainFrac: i32,
  epsQ32: i32, sqShift: i32, dimScaleM: i32, dimScaleE: i32,
  u: usize, scale: usize, so: i32,
): void {
  let amax = 0;
  for (let i = 0; i < n; i++) { const a = abs32(i32at(x, i)); if (a > amax) amax = a; }
  if (amax == 0) {
    for (let i = 0; i < n; i++) set16(q, i, 0);
    set32(scale, so, ZERO_SCALE_M); set32(scale, so + 1, ZERO_SCALE_E);
    return;
  }
  const k = bitLength(amax) - 15;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const xi = k >= 0 ? i32at(x, i) >> k : i32at(x, i) << -k;
    set32(u, i, xi);
    sum = sum + ((xi * xi) >> sqShift);
  }
  const t = 2 * k + sqShift;
  const epsN = epsQ32 * n; // < 2^31 (checked by the compiler)
  const over = bitLength(epsN) - t - 30;
  const j = over > 0 ? (over + 1) & -2 : 0;
  const st = t + j;
  const epsS = st >= 0 ? (st >= 31 ? 0 : epsN >> st) : epsN << -st; // < 2^30
  // 1/rms = sqrt(n / 2^sqShift) * 2^(16 - k) / sqrt(sum + epsS * 2^-t).
  rsqrtScale((sum >> j) + epsS, T, 2);
  set32(T, 3, i32at(T, 3) + (j >> 1));
  mulScale(i32at(T, 2), i32at(T, 3), dimScaleM, dimScaleE, T, 0);
  set32(T, 1, i32at(T, 1) - (ACT_FRAC - k));
  for (let i = 0; i < n; i++) set32(u, i, i32at(u, i) * i16at(gain, i));
  quantizeAct<i16>(q, 0, u, 0, n, ACT_FRAC - k + gainFrac, ACT_QMAX, INV_ACT_QMAX_M, INV_ACT_QMAX_E, scale, so);
  mulScale(i32at(scale, so), i32at(scale, so + 1), i32at(T, 0), i32at(T, 1), scale, so);
}
