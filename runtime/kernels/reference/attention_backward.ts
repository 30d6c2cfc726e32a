// Backward of one query's attention over the K/V cache of one layer (docs/integer-spec.md
// §13.5). The probabilities are recomputed by the steps of attention() (q -> 12 bits with
// the folded att scale, Q10 scores, softmaxExp2 -> e[t], sum); p_t = e_t / sum. With
// q = q12 sq, k_t = k12_t sK_t, v_t = v8_t sV_t (the values the forward used) and dout Q24:
//   dp_t = dout_h . v_t,  ds_t = p_t (dp_t - sum_j p_j dp_j)
//   dq_h = (1/sqrt(hs)) sum_t ds_t k_t          (overwrite, Q24)
//   dK[t] += (1/sqrt(hs)) ds_t q_h              (accumulate, saturating, Q24)
//   dV[t] += p_t dout_h                         (accumulate, saturating, Q24)
// 1/sqrt(hs) = att * ln 2 (att = log2(e)/sqrt(hs) is the forward's scale).

import { bitLength, divFloor, satAdd } from './arith.ts';
import { ACT_FRAC, ACT_QMAX, GRAD_FRAC, INV_ACT_QMAX_E, INV_ACT_QMAX_M, LN2_E, LN2_M, SCORE_FRAC } from './constants.ts';
import { mulShiftRound } from './int64.ts';
import { quantizeAct } from './quantize_act.ts';
import { mulScale, recipScale } from './scale.ts';
import { softmaxExp2 } from './softmax.ts';
import { maxBits, mulShiftAny, shiftBy } from './train_arith.ts';

/** Sentinel "no nonzero term" for the exponent maxima. */
const NONE = -2147483647;

/** Scratch (AssemblyScript: caller-provided q12 [hs] i16, scores, e, ds [seqLen] i32; static scales). */
export class AttentionBackwardScratch {
  readonly q12: Int16Array;
  readonly scores: Int32Array;
  readonly e: Int32Array;
  readonly ds: Int32Array;
  readonly sc = new Int32Array(8);
  constructor(headSize: number, seqLen: number) {
    this.q12 = new Int16Array(headSize);
    this.scores = new Int32Array(seqLen);
    this.e = new Int32Array(seqLen);
    this.ds = new Int32Array(seqLen);
  }
}

/** ceil(log2(n)) for n >= 1. */
function ceilLog2(n: number): number {
  return n <= 1 ? 0 : bitLength(n - 1);
}

export function attentionBackward(
  dq: Int32Array, dK: Int32Array, dV: Int32Array, dout: Int32Array, q: Int32Array, pos: number,
  kc: Int16Array, kM: Int16Array, kE: Int8Array, vc: Int8Array, vM: Int16Array, vE: Int8Array,
  nHeads: number, nKv: number, hs: number, attM: number, attE: number, exp2: Int16Array,
  s: AttentionBackwardScratch,
): void {
  const kvDim = nKv * hs, group = divFloor(nHeads, nKv), n = pos + 1;
  const sc = s.sc, q12 = s.q12, scores = s.scores, e = s.e, ds = s.ds;
  // 1/sqrt(hs) = att * ln 2 as a scale (im, ie).
  mulScale(attM, attE, LN2_M, LN2_E, sc, 6);
  const im = sc[6], ie = sc[7];
  for (let g = 0; g < nKv; g++) {
    for (let r = 0; r < group; r++) {
      const h = g * group + r, qo = h * hs;
      // 1. The forward's probabilities (attention() steps 1-3), keeping sq = q's own scale.
      quantizeAct(q12, 0, q, qo, hs, ACT_FRAC, ACT_QMAX, INV_ACT_QMAX_M, INV_ACT_QMAX_E, sc, 0);
      const sqm = sc[0], sqe = sc[1];
      mulScale(sqm, sqe, attM, attE, sc, 2);
      const qm = sc[2], qe = sc[3] - SCORE_FRAC;
      for (let t = 0; t < n; t++) {
        const ko = t * kvDim + g * hs;
        let acc = 0;
        for (let i = 0; i < hs; i++) acc = (acc + Math.imul(q12[i], kc[ko + i])) | 0;
        const ks = t * nKv + g;
        scores[t] = mulShiftRound(acc, Math.imul(qm, kM[ks]), qe + kE[ks]);
      }
      const sum = softmaxExp2(e, scores, n, exp2);
      recipScale(sum, sc, 4); // 1/sum = rm 2^-re, re >= 29
      const rm = sc[4], re = sc[5];
      // 2. dV[t] += p_t dout_h: p_t dout = dout * (e_t rm) 2^-re, e_t rm < 2^29.
      for (let t = 0; t < n; t++) {
        const pm = Math.imul(e[t], rm);
        if (pm === 0) continue;
        const vo = t * kvDim + g * hs;
        for (let i = 0; i < hs; i++) dV[vo + i] = satAdd(dV[vo + i], mulShiftRound(dout[qo + i], pm, re));
      }
      // 3. dp_t = dout_h . v8_t * sV_t: dout to 15-bit mantissas dn = dout >> kd, D_t = dn . v8_t
      // (|D| < 2^15 * 127 * hs <= 2^30 for hs <= 256), then D_t vM_t 2^-vE_t on a common
      // exponent with |dpi_t| < 2^29: dpi_t = D_t vM_t 2^-(vE_t + Bp - 29), Bp = max_t
      // (bitLength|D_t| + 15 - vE_t). Value dp_t = dpi_t 2^(Bp - 29 + kd - 24).
      const kd = maxBits(dout, qo, hs) - 15;
      let Bp = NONE;
      for (let t = 0; t < n; t++) {
        const vo = t * kvDim + g * hs;
        let D = 0;
        for (let i = 0; i < hs; i++) D = (D + Math.imul(shiftBy(dout[qo + i], kd), vc[vo + i])) | 0;
        ds[t] = D;
        if (D !== 0) { const b = bitLength(D < 0 ? -D : D) + 15 - vE[t * nKv + g]; if (b > Bp) Bp = b; }
      }
      for (let i = 0; i < hs; i++) dq[qo + i] = 0;
      if (Bp === NONE) continue; // dp = 0: ds = 0, no dq or dK contribution
      for (let t = 0; t < n; t++) {
        const ks = t * nKv + g;
        ds[t] = mulShiftAny(ds[t], vM[ks], vE[ks] + Bp - 29);
      }
      // 4. avg = sum_j p_j dpi_j, each term rounded (|avg| <= 2^29 (1 + 2^-14) + n/2);
      // ds_t = p_t (dpi_t - avg), |dpi_t - avg| < 2^30 + 2^17.
      let avg = 0;
      for (let t = 0; t < n; t++) avg = avg + mulShiftRound(ds[t], Math.imul(e[t], rm), re);
      let Bk = NONE;
      for (let t = 0; t < n; t++) {
        const d = mulShiftRound(ds[t] - avg, Math.imul(e[t], rm), re);
        ds[t] = d;
        if (d !== 0) { const b = bitLength(d < 0 ? -d : d) + 15 - kE[t * nKv + g]; if (b > Bk) Bk = b; }
      }
      const dsExp = Bp - 29 + kd - GRAD_FRAC; // ds_t (real) = ds[t] 2^dsExp
      if (Bk === NONE) continue;
      // 5. dK[t] += ds_t q / sqrt(hs): ds to a 15-bit mantissa dn_t 2^kt, multiplier
      // dn_t * cm (< 2^30) with (cm, ce) = sq / sqrt(hs); term = q12_i * dn_t cm 2^(kt + dsExp - ce) in Q24.
      mulScale(sqm, sqe, im, ie, sc, 2);
      const cm = sc[2], ce = sc[3];
      for (let t = 0; t < n; t++) {
        const d = ds[t];
        if (d === 0) continue;
        const kt = bitLength(d < 0 ? -d : d) - 15;
        const mult = Math.imul(shiftBy(d, kt), cm);
        const sh = ce - kt - dsExp - GRAD_FRAC;
        const ko = t * kvDim + g * hs;
        for (let i = 0; i < hs; i++) dK[ko + i] = satAdd(dK[ko + i], mulShiftAny(q12[i], mult, sh));
      }
      // 6. dq = sum_t ds_t k_t / sqrt(hs): weights w_t = ds_t kM_t 2^-(kE_t + X) on one
      // exponent X chosen from the sum of their magnitudes (not n times the largest), so
      // that sum_t |w_t| <= 2^19 + n/2 and the int32 dot sum_t w_t k12_t stays < 2^31.
      // Provisional units 2^P (P = Bk - 30 + cl): each |term| <= 2^(30 - cl); U = sum of
      // (|term| + 1) bounds the exact sum from above, U <= 2^30 + n < 2^31.
      const P = Bk - 30 + ceilLog2(n);
      let U = 0;
      for (let t = 0; t < n; t++) {
        const d = ds[t];
        if (d === 0) continue;
        const ks = t * nKv + g;
        const u = mulShiftAny(d, kM[ks], kE[ks] + P);
        U = U + (u < 0 ? -u : u) + 1;
      }
      const X = P + bitLength(U) - 19;
      for (let t = 0; t < n; t++) {
        const d = ds[t];
        if (d === 0) continue;
        const ks = t * nKv + g;
        const wt = mulShiftAny(d, kM[ks], kE[ks] + X);
        if (wt === 0) continue;
        const ko = t * kvDim + g * hs;
        for (let i = 0; i < hs; i++) dq[qo + i] = (dq[qo + i] + Math.imul(wt, kc[ko + i])) | 0;
      }
      // value = acc 2^(X + dsExp) / sqrt(hs); to Q24.
      const sh = ie - X - dsExp - GRAD_FRAC;
      for (let i = 0; i < hs; i++) dq[qo + i] = mulShiftAny(dq[qo + i], im, sh);
    }
  }
}
