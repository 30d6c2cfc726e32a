// Backward of one query's attention over the K/V cache of one layer (docs/integer-spec.md
// §13.5). Port of runtime/kernels/reference/attention_backward.ts: the same steps in the
// same order. Scratch (caller): q12 [hs] i16; scores, e, ds [>= pos + 1] i32.
import { bitLength, divFloor, satAdd } from "./arith";
import { ACT_FRAC, ACT_QMAX, GRAD_FRAC, INV_ACT_QMAX_E, INV_ACT_QMAX_M, LN2_E, LN2_M, SCORE_FRAC } from "./constants";
import { mulShiftRound } from "./int64";
import { i16at, i32at, i8at, set32 } from "./mem";
import { quantizeAct } from "./quantize_act";
import { mulScale, recipScale } from "./scale";
import { softmaxExp2 } from "./softmax";
import { maxBits, mulShiftAny, shiftBy } from "./train_arith";

const NONE: i32 = -2147483647;
const sc: usize = memory.data(32, 16);

function ceilLog2(n: i32): i32 {
  return n <= 1 ? 0 : bitLength(n - 1);
}

export function attentionBackward(
  dq: usize, dK: usize, dV: usize, dout: usize, q: usize, pos: i32,
  kc: usize, kM: usize, kE: usize, vc: usize, vM: usize, vE: usize,
  nHeads: i32, nKv: i32, hs: i32, attM: i32, attE: i32, exp2: usize,
  q12: usize, scores: usize, e: usize, ds: usize,
): void {
  const kvDim = nKv * hs, group = divFloor(nHeads, nKv), n = pos + 1;
  mulScale(attM, attE, LN2_M, LN2_E, sc, 6);
  const im = i32at(sc, 6), ie = i32at(sc, 7);
  for (let g = 0; g < nKv; g++) {
    for (let r = 0; r < group; r++) {
      const h = g * group + r, qo = h * hs;
      // 1. The forward's probabilities.
      quantizeAct<i16>(q12, 0, q, qo, hs, ACT_FRAC, ACT_QMAX, INV_ACT_QMAX_M, INV_ACT_QMAX_E, sc, 0);
      const sqm = i32at(sc, 0), sqe = i32at(sc, 1);
      mulScale(sqm, sqe, attM, attE, sc, 2);
      const qm = i32at(sc, 2), qe = i32at(sc, 3) - SCORE_FRAC;
      for (let t = 0; t < n; t++) {
        const ko = kc + (<usize>(t * kvDim + g * hs) << 1);
        let acc = 0;
        for (let i = 0; i < hs; i++) acc += <i32>load<i16>(q12 + (<usize>i << 1)) * <i32>load<i16>(ko + (<usize>i << 1));
        const ks = t * nKv + g;
        set32(scores, t, mulShiftRound(acc, qm * i16at(kM, ks), qe + i8at(kE, ks)));
      }
      const sum = softmaxExp2(e, scores, n, exp2);
      recipScale(sum, sc, 4);
      const rm = i32at(sc, 4), re = i32at(sc, 5);
      // 2. dV[t] += p_t dout_h.
      for (let t = 0; t < n; t++) {
        const pm = i32at(e, t) * rm;
        if (pm == 0) continue;
        const vo = t * kvDim + g * hs;
        for (let i = 0; i < hs; i++) set32(dV, vo + i, satAdd(i32at(dV, vo + i), mulShiftRound(i32at(dout, qo + i), pm, re)));
      }
      // 3. dp_t on a common exponent.
      const kd = maxBits(dout, qo, hs) - 15;
      let Bp = NONE;
      for (let t = 0; t < n; t++) {
        const vo = vc + <usize>(t * kvDim + g * hs);
        let D = 0;
        for (let i = 0; i < hs; i++) D += shiftBy(i32at(dout, qo + i), kd) * <i32>load<i8>(vo + <usize>i);
        set32(ds, t, D);
        if (D != 0) { const b = bitLength(D < 0 ? -D : D) + 15 - i8at(vE, t * nKv + g); if (b > Bp) Bp = b; }
      }
      for (let i = 0; i < hs; i++) set32(dq, qo + i, 0);
      if (Bp == NONE) continue;
      for (let t = 0; t < n; t++) {
        const ks = t * nKv + g;
        set32(ds, t, mulShiftAny(i32at(ds, t), i16at(vM, ks), i8at(vE, ks) + Bp - 29));
      }
      // 4. avg and ds_t = p_t (dpi_t - avg).
      let avg = 0;
      for (let t = 0; t < n; t++) avg = avg + mulShiftRound(i32at(ds, t), i32at(e, t) * rm, re);
      let Bk = NONE;
      for (let t = 0; t < n; t++) {
        const d = mulShiftRound(i32at(ds, t) - avg, i32at(e, t) * rm, re);
        set32(ds, t, d);
        if (d != 0) { const b = bitLength(d < 0 ? -d : d) + 15 - i8at(kE, t * nKv + g); if (b > Bk) Bk = b; }
      }
      const dsExp = Bp - 29 + kd - GRAD_FRAC;
      if (Bk == NONE) continue;
      // 5. dK[t] += ds_t q / sqrt(hs).
      mulScale(sqm, sqe, im, ie, sc, 2);
      const cm = i32at(sc, 2), ce = i32at(sc, 3);
      for (let t = 0; t < n; t++) {
        const d = i32at(ds, t);
        if (d == 0) continue;
        const kt = bitLength(d < 0 ? -d : d) - 15;
        const mult = shiftBy(d, kt) * cm;
        const sh = ce - kt - dsExp - GRAD_FRAC;
        const ko = t * kvDim + g * hs;
        for (let i = 0; i < hs; i++) set32(dK, ko + i, satAdd(i32at(dK, ko + i), mulShiftAny(i16at(q12, i), mult, sh)));
      }
      // 6. dq = sum_t ds_t k_t / sqrt(hs), weights on an exponent from their magnitudes' sum.
      const P = Bk - 30 + ceilLog2(n);
      let U = 0;
      for (let t = 0; t < n; t++) {
        const d = i32at(ds, t);
        if (d == 0) continue;
        const ks = t * nKv + g;
        const u = mulShiftAny(d, i16at(kM, ks), i8at(kE, ks) + P);
        U = U + (u < 0 ? -u : u) + 1;
      }
      const X = P + bitLength(U) - 19;
      const oh = dq + (<usize>qo << 2);
      for (let t = 0; t < n; t++) {
        const d = i32at(ds, t);
        if (d == 0) continue;
        const ks = t * nKv + g;
        const wt = mulShiftAny(d, i16at(kM, ks), i8at(kE, ks) + X);
        if (wt == 0) continue;
        const ko = kc + (<usize>(t * kvDim + g * hs) << 1);
        for (let i = 0; i < hs; i++) {
          const p = oh + (<usize>i << 2);
          store<i32>(p, load<i32>(p) + wt * <i32>load<i16>(ko + (<usize>i << 1)));
        }
      }
      const sh = ie - X - dsExp - GRAD_FRAC;
      for (let i = 0; i < hs; i++) set32(dq, qo + i, mulShiftAny(i32at(dq, qo + i), im, sh));
    }
  }
}
