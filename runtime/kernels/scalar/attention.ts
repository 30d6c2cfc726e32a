// Causal grouped-query attention of one position over the K/V cache of one layer
// (docs/integer-spec.md §3.7). Port of runtime/kernels/reference/attention.ts: the same
// steps in the same order; the scratch arrays are arena slots, `sc` a static 4 x i32.
import { bitLength, divFloor } from "./arith";
import { ACT_FRAC, ACT_QMAX, INV_ACT_QMAX_E, INV_ACT_QMAX_M, SCORE_FRAC } from "./constants";
import { mulShiftRound } from "./int64";
import { i16at, i32at, i8at, set32 } from "./mem";
import { quantizeAct } from "./quantize_act";
import { mulScale, recipScale } from "./scale";
import { softmaxExp2 } from "./softmax";

const sc: usize = memory.data(16, 16);

/** ceil(log2(n)) for n >= 1. */
function ceilLog2(n: i32): i32 {
  return n <= 1 ? 0 : bitLength(n - 1);
}

/**
 * out[0..nHeads*hs) = attention of q (Q16, all heads) over cache positions 0..pos.
 * Cache of this layer: kc (int16) and vc (int8) [seqLen, nKv*hs], scales kM/kE, vM/vE
 * [seqLen, nKv]. Scratch: q12 int16 [hs], scores and w int32 [>= pos + 1].
 */
export function attention(
  out: usize, q: usize, pos: i32,
  kc: usize, kM: usize, kE: usize, vc: usize, vM: usize, vE: usize,
  nHeads: i32, nKv: i32, hs: i32, attM: i32, attE: i32, exp2: usize,
  q12: usize, scores: usize, w: usize,
): void {
  const kvDim = nKv * hs, group = divFloor(nHeads, nKv), n = pos + 1;
  for (let g = 0; g < nKv; g++) {
    for (let r = 0; r < group; r++) {
      const h = g * group + r, qo = h * hs;
      // 1. Query head to 12 bits; fold log2(e)/sqrt(hs) into its scale.
      quantizeAct<i16>(q12, 0, q, qo, hs, ACT_FRAC, ACT_QMAX, INV_ACT_QMAX_M, INV_ACT_QMAX_E, sc, 0);
      mulScale(i32at(sc, 0), i32at(sc, 1), attM, attE, sc, 0);
      const qm = i32at(sc, 0), qe = i32at(sc, 1) - SCORE_FRAC;
      // 2. Scores in log2 units, Q10.
      for (let t = 0; t < n; t++) {
        const ko = kc + (<usize>(t * kvDim + g * hs) << 1);
        let acc = 0; // |acc| <= hs * 2047 * 2047 < 2^30 for hs <= 256
        for (let i = 0; i < hs; i++) acc += <i32>load<i16>(q12 + (<usize>i << 1)) * <i32>load<i16>(ko + (<usize>i << 1));
        const ks = t * nKv + g;
        set32(scores, t, mulShiftRound(acc, qm * i16at(kM, ks), qe + i8at(kE, ks)));
      }
      // 3. Unnormalized softmax, e[t] <= 2^14, 2^14 <= sum <= n * 2^14.
      const sum = softmaxExp2(w, scores, n, exp2);
      // 4. Weights on a common exponent: the largest has at most L bits, n * 2^L <= 2^24.
      const L = 24 - ceilLog2(n);
      let B = -2147483647; // max_t (bitLength(z[t]) - eV[t]) over z[t] > 0
      for (let t = 0; t < n; t++) {
        const ks = t * nKv + g;
        const z = i32at(w, t) * i16at(vM, ks);
        if (z > 0) { const b = bitLength(z) - i8at(vE, ks); if (b > B) B = b; }
      }
      for (let i = 0; i < hs; i++) set32(out, qo + i, 0);
      if (B == -2147483647) continue; // every weighted value is zero
      const oh = out + (<usize>qo << 2);
      for (let t = 0; t < n; t++) {
        const ks = t * nKv + g;
        const z = i32at(w, t) * i16at(vM, ks);
        let sh = i8at(vE, ks) + B - L; // w = z * 2^-sh has bitLength <= L
        let wt: i32;
        if (sh <= 0) wt = z << -sh;
        else { if (sh > 31) sh = 31; wt = (z + (1 << (sh - 1))) >> sh; }
        if (wt == 0) continue;
        const vo = vc + <usize>(t * kvDim + g * hs);
        for (let i = 0; i < hs; i++) {
          const p = oh + (<usize>i << 2);
          store<i32>(p, load<i32>(p) + wt * <i32>load<i8>(vo + <usize>i));
        }
      }
      // value = acc * 2^(B - L) / sum; to Q16 with 1/sum = mR * 2^-eR.
      recipScale(sum, sc, 2);
      const shift = i32at(sc, 3) - ACT_FRAC - B + L;
      const rm = i32at(sc, 2);
      for (let i = 0; i < hs; i++) set32(out, qo + i, mulShiftRound(i32at(out, qo + i), rm, shift));
    }
  }
}
