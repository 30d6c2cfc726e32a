// A layer's attention cache filled the way runtime/reference/model.ts fills it, for the
// kernel tests of attention (test/int-kernels.test.ts) and its backward
// (test/train-kernels.test.ts): K to 12 bits and V to int8, one scale per (position, kv
// head), plus the dequantized float64 values the float comparisons use.
import type { Rng } from '../../compiler/synth/prng.ts';
import { ACT_QMAX, INV_ACT_QMAX_E, INV_ACT_QMAX_M, INV_QMAX8_E, INV_QMAX8_M, QMAX8 } from '../../runtime/kernels/reference/constants.ts';
import { quantizeAct } from '../../runtime/kernels/reference/quantize_act.ts';

/** The real value of a scale (m, e) at sc[o], sc[o + 1]. */
export const sv = (sc: Int32Array, o = 0): number => sc[o] * 2 ** -sc[o + 1];

/** n Gaussian values of standard deviation `mag`, as int32 with `frac` fractional bits. */
export const randQ = (r: Rng, n: number, mag: number, frac: number): Int32Array =>
  Int32Array.from({ length: n }, () => Math.round(r.gauss() * mag * 2 ** frac));

/** Fills a layer's cache for positions 0..n-1 from Q16 k/v vectors, as model.ts does. */
export function fillCache(r: Rng, n: number, nKv: number, hs: number, kMag: number, vMag: number, seq: number) {
  const kd = nKv * hs;
  const kc = new Int16Array(seq * kd), vc = new Int8Array(seq * kd);
  const kM = new Int16Array(seq * nKv), kE = new Int8Array(seq * nKv), vM = new Int16Array(seq * nKv), vE = new Int8Array(seq * nKv);
  const kf = new Float64Array(seq * kd), vf = new Float64Array(seq * kd);
  const sc = new Int32Array(2);
  for (let t = 0; t < n; t++) {
    // Positions get very different magnitudes (x0.01 .. x100) to exercise the shared exponent.
    const boost = 10 ** (2 * Math.sin(t * 1.7));
    const k = randQ(r, kd, kMag, 16), v = randQ(r, kd, vMag * boost, 16);
    for (let g = 0; g < nKv; g++) {
      quantizeAct(kc, t * kd + g * hs, k, g * hs, hs, 16, ACT_QMAX, INV_ACT_QMAX_M, INV_ACT_QMAX_E, sc, 0);
      kM[t * nKv + g] = sc[0]; kE[t * nKv + g] = sc[1];
      for (let i = 0; i < hs; i++) kf[t * kd + g * hs + i] = kc[t * kd + g * hs + i] * sv(sc);
      quantizeAct(vc, t * kd + g * hs, v, g * hs, hs, 16, QMAX8, INV_QMAX8_M, INV_QMAX8_E, sc, 0);
      vM[t * nKv + g] = sc[0]; vE[t * nKv + g] = sc[1];
      for (let i = 0; i < hs; i++) vf[t * kd + g * hs + i] = vc[t * kd + g * hs + i] * sv(sc);
    }
  }
  return { kc, vc, kM, kE, vM, vE, kf, vf };
}
