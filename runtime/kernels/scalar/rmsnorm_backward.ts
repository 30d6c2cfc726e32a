// Backward of RMSNorm (docs/integer-spec.md §13.2). Port of
// runtime/kernels/reference/rmsnorm_backward.ts.
import { bitLength, satSub } from "./arith";
import { ACT_FRAC, GRAD_FRAC } from "./constants";
import { mulShiftRound } from "./int64";
import { i16at, i32at, set32 } from "./mem";
import { mulScale, recipScale, rsqrtScale } from "./scale";
import { maxBits, mulShiftAny, shiftBy } from "./train_arith";

const sc: usize = memory.data(32, 16);

/** 1/rms(x) as a scale into out[o], out[o+1], by the steps of rmsnormQuant. */
export function invRmsScale(
  x: usize, n: i32, epsQ32: i32, sqShift: i32, dimScaleM: i32, dimScaleE: i32, out: usize, o: i32,
): void {
  const k = maxBits(x, 0, n) - 15;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const xi = shiftBy(i32at(x, i), k);
    sum = sum + ((xi * xi) >> sqShift);
  }
  const t = 2 * k + sqShift;
  const epsN = epsQ32 * n;
  const over = bitLength(epsN) - t - 30;
  const j = over > 0 ? (over + 1) & -2 : 0;
  const st = t + j;
  const epsS = st >= 0 ? (st >= 31 ? 0 : epsN >> st) : epsN << -st;
  rsqrtScale((sum >> j) + epsS, out, o);
  set32(out, o + 1, i32at(out, o + 1) + (j >> 1));
  mulScale(i32at(out, o), i32at(out, o + 1), dimScaleM, dimScaleE, out, o);
  set32(out, o + 1, i32at(out, o + 1) - (ACT_FRAC - k));
}

/** dx[0..n) (Q24) from dy (Q24) through y = rmsnorm(x) * gain. */
export function rmsnormBackward(
  dx: usize, dy: usize, x: usize, n: i32, gain: usize, gainFrac: i32,
  epsQ32: i32, sqShift: i32, dimScaleM: i32, dimScaleE: i32,
): void {
  invRmsScale(x, n, epsQ32, sqShift, dimScaleM, dimScaleE, sc, 0);
  const rm = i32at(sc, 0), re = i32at(sc, 1);
  const kx = maxBits(x, 0, n) - 15, kd = maxBits(dy, 0, n) - 15;
  let S = 0;
  for (let i = 0; i < n; i++) {
    const p = shiftBy(i32at(x, i), kx) * i16at(gain, i);
    S = S + mulShiftRound(p, shiftBy(i32at(dy, i), kd), 15 + sqShift);
  }
  const sExp = 15 + sqShift + kx - ACT_FRAC - gainFrac + kd - GRAD_FRAC;
  mulScale(rm, re, rm, re, sc, 2);
  mulScale(i32at(sc, 2), i32at(sc, 3), rm, re, sc, 2);
  recipScale(n, sc, 4);
  mulScale(i32at(sc, 2), i32at(sc, 3), i32at(sc, 4), i32at(sc, 5), sc, 2);
  const cm = i32at(sc, 2), ce = i32at(sc, 3);
  let coef = 0, cShift = 0;
  if (S != 0) {
    const ks = bitLength(S < 0 ? -S : S) - 15;
    coef = shiftBy(S, ks) * cm;
    cShift = ce - ks - sExp - kx + ACT_FRAC - GRAD_FRAC;
  }
  for (let i = 0; i < n; i++) {
    const t1 = mulShiftAny(i32at(dy, i), i16at(gain, i) * rm, re + gainFrac);
    const t2 = coef == 0 ? 0 : mulShiftAny(shiftBy(i32at(x, i), kx), coef, cShift);
    set32(dx, i, satSub(t1, t2));
  }
}
