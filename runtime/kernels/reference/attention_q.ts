// Attention over the quantized KV cache of kv_store_q.ts (docs/integer-spec.md §3.7.1):
// exactly attention.ts's four steps, with K and V of position t read from the ring row
// S + (t mod W) (int8) when pos - t < W, else from the packed row t (`kBits`/`vBits`
// wide), or, with anchors, from the anchor row S + W + slot when the slot map names one;
// each row's scale is the (m, e) beside it. |k|, |v| <= 127, so attention.ts's bounds
// hold unchanged. With anchors each query head also adds its probabilities, floor(e[t] ·
// 2^16 / sum) by the reciprocal of step 6, to score[t, g] (saturating): the attention
// mass that kv_store_q ranks anchors by.

import { bitLength, divFloor, satAdd } from './arith.ts';
import { ACT_FRAC, ACT_QMAX, INV_ACT_QMAX_E, INV_ACT_QMAX_M, SCORE_FRAC } from './constants.ts';
import { mulShiftRound } from './int64.ts';
import { kvUnpack } from './kv_store_q.ts';
import { kvKBlockDot, kvKScaleBase } from './kv_kblock.ts';
import { quantizeAct } from './quantize_act.ts';
import { mulScale, recipScale } from './scale.ts';
import { softmaxExp2 } from './softmax.ts';
import type { AttentionScratch } from './attention.ts';

/** ceil(log2(n)) for n >= 1. */
function ceilLog2(n: number): number {
  return n <= 1 ? 0 : bitLength(n - 1);
}

/**
 * out[0..nHeads*hs) = attention of q (Q16) over positions 0..pos of one layer's quantized
 * cache (kv_store_q.ts's layout, S rows). (attM, attE) = log2(e)/sqrt(hs); exp2 the table.
 */
export function attentionQ(
  out: Int32Array, q: Int32Array, pos: number,
  kc: Int8Array, kM: Int16Array, kE: Int8Array, vc: Int8Array, vM: Int16Array, vE: Int8Array,
  S: number, nHeads: number, nKv: number, hs: number, attM: number, attE: number,
  kBits: number, vBits: number, window: number, A: number, kBlock: number, st: Int32Array, exp2: Int16Array, s: AttentionScratch,
): void {
  const kvD = nKv * hs, group = divFloor(nHeads, nKv), n = pos + 1;
  // K's ring scale rows start at kS; with blocks (kv_kblock.ts) block b's scale is row b and
  // its (lo, step) pairs follow the scale rows.
  const kS = kvKScaleBase(S, kBlock), mBase = (kS + window + A) * nKv;
  const sc = s.sc, scores = s.scores, w = s.weights;
  const kRing = (S * kvD * kBits) >> 3, vRing = (S * kvD * vBits) >> 3;
  // Positions >= first8 are read from the ring.
  const first8 = window > 0 ? n - window : n;
  const map = S * nKv;
  // The int8 row (ring or anchor) position t of head g is read from, or -1: the packed row.
  // A map entry outside [0, A) is none (only an arena never stored from position 0 has one).
  const row8 = (t: number, g: number): number => {
    if (t >= first8) return t % window;
    const slot = A > 0 ? st[map + t * nKv + g] : -1;
    return slot >= 0 && slot < A ? window + slot : -1;
  };
  for (let g = 0; g < nKv; g++) {
    const gh = g * hs;
    for (let r = 0; r < group; r++) {
      const h = g * group + r, qo = h * hs;
      // 1. Query head to 12 bits; fold log2(e)/sqrt(hs) into its scale.
      quantizeAct(s.q12, 0, q, qo, hs, ACT_FRAC, ACT_QMAX, INV_ACT_QMAX_M, INV_ACT_QMAX_E, sc, 0);
      mulScale(sc[0], sc[1], attM, attE, sc, 0);
      const qm = sc[0], qe = sc[1] - SCORE_FRAC;
      // 2. Scores in log2 units, Q10 (|acc| <= hs * 2047 * 127 < 2^30).
      for (let t = 0; t < n; t++) {
        let acc = 0, ks: number;
        const r8 = row8(t, g);
        if (r8 >= 0) {
          const ko = kRing + r8 * kvD + gh;
          for (let i = 0; i < hs; i++) acc = (acc + Math.imul(s.q12[i], kc[ko + i])) | 0;
          ks = (kS + r8) * nKv + g;
        } else if (kBlock > 0) {
          const b = divFloor(t, kBlock);
          acc = kvKBlockDot(s.q12, kc, ((t * kvD + gh) * kBits) >> 3, kM, mBase + 2 * (b * kvD + gh), hs, kBits);
          ks = b * nKv + g;
        } else {
          const ko = ((t * kvD + gh) * kBits) >> 3;
          for (let i = 0; i < hs; i++) acc = (acc + Math.imul(s.q12[i], kvUnpack(kc, ko, i, kBits))) | 0;
          ks = t * nKv + g;
        }
        scores[t] = mulShiftRound(acc, Math.imul(qm, kM[ks]), qe + kE[ks]);
      }
      // 3. Unnormalized softmax, e[t] <= 2^14, 2^14 <= sum <= n * 2^14.
      const sum = softmaxExp2(w, scores, n, exp2);
      // Anchor scores: + floor(e[t] · m · 2^-(e - 16)) with (m, e) = 1/sum, the probability
      // in Q16 (e[t] · m <= 2^29; e - 16 in [12, 25] for n <= 4096).
      if (A > 0) {
        recipScale(sum, sc, 2);
        const rm = sc[2], rsh = sc[3] - 16;
        for (let t = 0; t < n; t++) st[t * nKv + g] = satAdd(st[t * nKv + g], Math.imul(w[t], rm) >> rsh);
      }
      // 4. Weights on a common exponent (attention.ts, step 4).
      const L = 24 - ceilLog2(n);
      let B = -2147483647;
      for (let t = 0; t < n; t++) {
        const r8 = row8(t, g), ks = r8 >= 0 ? (S + r8) * nKv + g : t * nKv + g;
        const z = Math.imul(w[t], vM[ks]);
        if (z > 0) { const b = bitLength(z) - vE[ks]; if (b > B) B = b; }
      }
      for (let i = 0; i < hs; i++) out[qo + i] = 0;
      if (B === -2147483647) continue;
      for (let t = 0; t < n; t++) {
        const r8 = row8(t, g), ks = r8 >= 0 ? (S + r8) * nKv + g : t * nKv + g;
        const z = Math.imul(w[t], vM[ks]);
        let sh = vE[ks] + B - L;
        let wt: number;
        if (sh <= 0) wt = z << -sh;
        else { if (sh > 31) sh = 31; wt = (z + (1 << (sh - 1))) >> sh; }
        if (wt === 0) continue;
        if (r8 >= 0) {
          const vo = vRing + r8 * kvD + gh;
          for (let i = 0; i < hs; i++) out[qo + i] = (out[qo + i] + Math.imul(wt, vc[vo + i])) | 0;
        } else {
          const vo = ((t * kvD + gh) * vBits) >> 3;
          for (let i = 0; i < hs; i++) out[qo + i] = (out[qo + i] + Math.imul(wt, kvUnpack(vc, vo, i, vBits))) | 0;
        }
      }
      recipScale(sum, sc, 2);
      const shift = sc[3] - ACT_FRAC - B + L;
      for (let i = 0; i < hs; i++) out[qo + i] = mulShiftRound(out[qo + i], sc[2], shift);
    }
  }
}
