// Causal grouped-query attention of one position over the K/V cache of one layer
// (docs/integer-spec.md §3.7); K is 12-bit (in int16), V int8, each with one scale per
// (position, kv head). Per query head:
//   1. q (Q16, after RoPE) -> 12-bit with a per-head scale;
//   2. score[t] = q12 . k12[t] (int32, |.| <= hs * 2047^2 < 2^30 for hs <= 256) scaled by
//      sq * sk[t] * log2(e)/sqrt(hs) into log2 units with SCORE_FRAC fractional bits (one
//      int64 product per score);
//   3. e[t] = 2^(score[t] - max) by the exp2 table (softmax.ts), sum = sum e;
//   4. out = sum_t e[t] sv[t] v8[t] / sum: e[t] * sv[t] becomes an integer weight w[t]
//      sharing one exponent across t, then one int32 dot per output element and one
//      int64 requantization to Q16.

import { bitLength, divFloor } from './arith.ts';
import { ACT_FRAC, ACT_QMAX, INV_ACT_QMAX_E, INV_ACT_QMAX_M, SCORE_FRAC } from './constants.ts';
import { mulShiftRound } from './int64.ts';
import { quantizeAct } from './quantize_act.ts';
import { mulScale, recipScale } from './scale.ts';
import { softmaxExp2 } from './softmax.ts';

/** Scratch for attention(): allocate once per model (AssemblyScript: static buffers). */
export class AttentionScratch {
  readonly q12: Int16Array;
  readonly scores: Int32Array;
  readonly weights: Int32Array;
  readonly sc = new Int32Array(4);
  constructor(headSize: number, seqLen: number) {
    this.q12 = new Int16Array(headSize);
    this.scores = new Int32Array(seqLen);
    this.weights = new Int32Array(seqLen);
  }
}

/** ceil(log2(n)) for n >= 1. */
function ceilLog2(n: number): number {
  return n <= 1 ? 0 : bitLength(n - 1);
}

/**
 * out[0..nHeads*hs) = attention of q (Q16, all heads) over cache positions 0..pos.
 * Cache of this layer: k (12-bit in int16) and v (int8), [seqLen, nKv*hs] row-major, with
 * scales kM/kE, vM/vE [seqLen, nKv].
 * (attM, attE) = log2(e)/sqrt(hs) as a scale; exp2 is the baked table.
 */
export function attention(
  out: Int32Array, q: Int32Array, pos: number,
  kc: Int16Array, kM: Int16Array, kE: Int8Array, vc: Int8Array, vM: Int16Array, vE: Int8Array,
  nHeads: number, nKv: number, hs: number, attM: number, attE: number, exp2: Int16Array,
  s: AttentionScratch,
): void {
  const kvDim = nKv * hs, group = divFloor(nHeads, nKv), n = pos + 1;
  const sc = s.sc, scores = s.scores, w = s.weights;
  for (let g = 0; g < nKv; g++) {
    for (let r = 0; r < group; r++) {
      const h = g * group + r, qo = h * hs;
      // 1. Query head to 12 bits; fold log2(e)/sqrt(hs) into its scale.
      quantizeAct(s.q12, 0, q, qo, hs, ACT_FRAC, ACT_QMAX, INV_ACT_QMAX_M, INV_ACT_QMAX_E, sc, 0);
      mulScale(sc[0], sc[1], attM, attE, sc, 0);
      const qm = sc[0], qe = sc[1] - SCORE_FRAC;
      // 2. Scores in log2 units, Q10.
      for (let t = 0; t < n; t++) {
        const ko = t * kvDim + g * hs;
        let acc = 0; // |acc| <= hs * 2047 * 2047 < 2^30 for hs <= 256
        for (let i = 0; i < hs; i++) acc = (acc + Math.imul(s.q12[i], kc[ko + i])) | 0;
        const ks = t * nKv + g;
        scores[t] = mulShiftRound(acc, Math.imul(qm, kM[ks]), qe + kE[ks]);
      }
      // 3. Unnormalized softmax, e[t] <= 2^14, 2^14 <= sum <= n * 2^14.
      const sum = softmaxExp2(w, scores, n, exp2);
      // 4. z[t] = e[t] * mV[t] (< 2^29) has value z * 2^-eV[t] (in units of e). Put every
      // z on a common exponent so that the largest weight has at most L bits and the sum
      // of all n weights times 127 fits an int32: n * 2^L <= 2^24.
      const L = 24 - ceilLog2(n);
      let B = -2147483647; // max_t (bitLength(z[t]) - eV[t]) over z[t] > 0
      for (let t = 0; t < n; t++) {
        const ks = t * nKv + g;
        const z = Math.imul(w[t], vM[ks]);
        if (z > 0) { const b = bitLength(z) - vE[ks]; if (b > B) B = b; }
      }
      for (let i = 0; i < hs; i++) out[qo + i] = 0;
      if (B === -2147483647) continue; // every weighted value is zero
      for (let t = 0; t < n; t++) {
        const ks = t * nKv + g;
        const z = Math.imul(w[t], vM[ks]);
        let sh = vE[ks] + B - L; // w = z * 2^-sh has bitLength <= L
        let wt: number;
        if (sh <= 0) wt = z << -sh; // exact: the result has at most L bits
        else { if (sh > 31) sh = 31; wt = (z + (1 << (sh - 1))) >> sh; } // z < 2^29: no overflow
        if (wt === 0) continue;
        const vo = t * kvDim + g * hs;
        for (let i = 0; i < hs; i++) out[qo + i] = (out[qo + i] + Math.imul(wt, vc[vo + i])) | 0;
      }
      // value = acc * 2^(B - L) / sum (units cancel); to Q16 with 1/sum = mR * 2^-eR.
      recipScale(sum, sc, 2);
      const shift = sc[3] - ACT_FRAC - B + L;
      for (let i = 0; i < hs; i++) out[qo + i] = mulShiftRound(out[qo + i], sc[2], shift);
    }
  }
}
