// Attention over the quantized KV cache (docs/integer-spec.md §3.7.1). Port of
// runtime/kernels/reference/attention_q.ts: the same steps in the same order; the packed
// rows are unpacked a byte at a time (4 bits: low nibble first; 2 bits: lowest pair first).
import { bitLength, divFloor, satAdd } from "./arith";
import { ACT_FRAC, ACT_QMAX, INV_ACT_QMAX_E, INV_ACT_QMAX_M, SCORE_FRAC } from "./constants";
import { mulShiftRound } from "./int64";
import { i16at, i32at, i8at, set32 } from "./mem";
import { quantizeAct } from "./quantize_act";
import { mulScale, recipScale } from "./scale";
import { softmaxExp2 } from "./softmax";
import { kBlockDot, kvKScaleBase } from "./kv_kblock";

const sc: usize = memory.data(16, 16);

export function ceilLog2(n: i32): i32 {
  return n <= 1 ? 0 : bitLength(n - 1);
}

/** sum_i q12[i] * k[i] over a row of hs values at byte address c, `bits` wide. */
function dotRow(q12: usize, c: usize, hs: i32, bits: i32): i32 {
  let acc = 0;
  if (bits == 8) {
    for (let i = 0; i < hs; i++) acc += <i32>load<i16>(q12 + (<usize>i << 1)) * <i32>load<i8>(c + <usize>i);
  } else if (bits == 4) {
    for (let i = 0; i < hs; i += 2) {
      const b = <i32>load<u8>(c + <usize>(i >> 1));
      const p = q12 + (<usize>i << 1);
      acc += <i32>load<i16>(p) * ((b << 28) >> 28) + <i32>load<i16>(p, 2) * ((b << 24) >> 28);
    }
  } else {
    for (let i = 0; i < hs; i += 4) {
      const b = <i32>load<u8>(c + <usize>(i >> 2));
      const p = q12 + (<usize>i << 1);
      acc += <i32>load<i16>(p) * ((b << 30) >> 30) + <i32>load<i16>(p, 2) * ((b << 28) >> 30) +
        <i32>load<i16>(p, 4) * ((b << 26) >> 30) + <i32>load<i16>(p, 6) * ((b << 24) >> 30);
    }
  }
  return acc;
}

/** o[i] += wt * v[i] over a row of hs values at byte address c, `bits` wide. */
function axpyRow(o: usize, wt: i32, c: usize, hs: i32, bits: i32): void {
  if (bits == 8) {
    for (let i = 0; i < hs; i++) { const p = o + (<usize>i << 2); store<i32>(p, load<i32>(p) + wt * <i32>load<i8>(c + <usize>i)); }
  } else if (bits == 4) {
    for (let i = 0; i < hs; i += 2) {
      const b = <i32>load<u8>(c + <usize>(i >> 1));
      const p = o + (<usize>i << 2);
      store<i32>(p, load<i32>(p) + wt * ((b << 28) >> 28));
      store<i32>(p, load<i32>(p, 4) + wt * ((b << 24) >> 28), 4);
    }
  } else {
    for (let i = 0; i < hs; i += 4) {
      const b = <i32>load<u8>(c + <usize>(i >> 2));
      const p = o + (<usize>i << 2);
      store<i32>(p, load<i32>(p) + wt * ((b << 30) >> 30));
      store<i32>(p, load<i32>(p, 4) + wt * ((b << 28) >> 30), 4);
      store<i32>(p, load<i32>(p, 8) + wt * ((b << 26) >> 30), 8);
      store<i32>(p, load<i32>(p, 12) + wt * ((b << 24) >> 30), 12);
    }
  }
}

/** The int8 row (ring or anchor) position t of head g is read from, or -1: its packed row. */
// @ts-ignore: decorator
@inline export function row8(t: i32, g: i32, first8: i32, ringOff: i32, window: i32, A: i32, st: usize, map: i32, nKv: i32): i32 {
  if (t >= first8) { const r = t + ringOff; return r >= window ? r - window : r; } // t mod W, without a division per position
  if (A == 0) return -1;
  const s = i32at(st, map + t * nKv + g);
  return <u32>s < <u32>A ? window + s : -1; // outside [0, A): none (an arena never stored from position 0)
}

/** §3.7.1 step 1: adds one query head's attention probabilities (Q16, from softmax's sum) to kv head g's anchor scores. */
// @ts-ignore: decorator
@inline export function addAnchorScores(st: usize, w: usize, sum: i32, n: i32, nKv: i32, g: i32): void {
  recipScale(sum, sc, 2);
  const rm = i32at(sc, 2), rsh = i32at(sc, 3) - 16;
  for (let t = 0; t < n; t++) set32(st, t * nKv + g, satAdd(i32at(st, t * nKv + g), (i32at(w, t) * rm) >> rsh));
}

/** §3.7 step 5's B: the largest bitLength(w[t]·vM) − vE over the positions read, or −2147483647 when no product is positive. */
// @ts-ignore: decorator
@inline export function valueBitBound(
  w: usize, vM: usize, vE: usize, n: i32, g: i32, first8: i32, ringOff: i32, window: i32, A: i32, st: usize, map: i32, nKv: i32, S: i32,
): i32 {
  let B = -2147483647;
  for (let t = 0; t < n; t++) {
    const r8 = row8(t, g, first8, ringOff, window, A, st, map, nKv), ks = r8 >= 0 ? (S + r8) * nKv + g : t * nKv + g;
    const z = i32at(w, t) * i16at(vM, ks);
    if (z > 0) { const b = bitLength(z) - i8at(vE, ks); if (b > B) B = b; }
  }
  return B;
}

/**
 * §3.7 step 5: position t's value weight, w[t]·vM of its row `ks` brought to the
 * accumulator's scale (exponent B − L): an exact left shift, or a right shift rounding half up.
 */
// @ts-ignore: decorator
@inline export function valueWeight(w: usize, vM: usize, vE: usize, t: i32, ks: i32, B: i32, L: i32): i32 {
  const z = i32at(w, t) * i16at(vM, ks);
  let sh = i8at(vE, ks) + B - L;
  if (sh <= 0) return z << -sh;
  if (sh > 31) sh = 31;
  return (z + (1 << (sh - 1))) >> sh;
}

/** See the reference: out = attention of q over positions 0..pos of one layer's quantized cache. */
export function attentionQ(
  out: usize, q: usize, pos: i32,
  kc: usize, kM: usize, kE: usize, vc: usize, vM: usize, vE: usize,
  S: i32, nHeads: i32, nKv: i32, hs: i32, attM: i32, attE: i32,
  kBits: i32, vBits: i32, window: i32, A: i32, kBlock: i32, st: usize, exp2: usize,
  q12: usize, scores: usize, w: usize,
): void {
  const kvD = nKv * hs, group = divFloor(nHeads, nKv), n = pos + 1;
  const kS = kvKScaleBase(S, kBlock), mBase = (kS + window + A) * nKv;
  const kRing = (S * kvD * kBits) >> 3, vRing = (S * kvD * vBits) >> 3;
  const first8 = window > 0 ? n - window : n;
  // t mod W = t + ringOff, less W when that reaches W, for first8 <= t < n (one division per call).
  const ringOff = first8 > 0 && window > 0 ? first8 % window - first8 : 0;
  const map = S * nKv;
  for (let g = 0; g < nKv; g++) {
    const gh = g * hs;
    for (let r = 0; r < group; r++) {
      const h = g * group + r, qo = h * hs;
      quantizeAct<i16>(q12, 0, q, qo, hs, ACT_FRAC, ACT_QMAX, INV_ACT_QMAX_M, INV_ACT_QMAX_E, sc, 0);
      mulScale(i32at(sc, 0), i32at(sc, 1), attM, attE, sc, 0);
      const qm = i32at(sc, 0), qe = i32at(sc, 1) - SCORE_FRAC;
      for (let t = 0; t < n; t++) {
        let acc: i32, ks: i32;
        const r8 = row8(t, g, first8, ringOff, window, A, st, map, nKv);
        if (r8 >= 0) {
          acc = dotRow(q12, kc + <usize>(kRing + r8 * kvD + gh), hs, 8);
          ks = (kS + r8) * nKv + g;
        } else if (kBlock > 0) {
          const b = t / kBlock;
          acc = kBlockDot(q12, kc + <usize>(((t * kvD + gh) * kBits) >> 3), kM, mBase + 2 * (b * kvD + gh), hs, kBits);
          ks = b * nKv + g;
        } else {
          acc = dotRow(q12, kc + <usize>(((t * kvD + gh) * kBits) >> 3), hs, kBits);
          ks = t * nKv + g;
        }
        set32(scores, t, mulShiftRound(acc, qm * i16at(kM, ks), qe + i8at(kE, ks)));
      }
      const sum = softmaxExp2(w, scores, n, exp2);
      if (A > 0) addAnchorScores(st, w, sum, n, nKv, g);
      const L = 24 - ceilLog2(n);
      const B = valueBitBound(w, vM, vE, n, g, first8, ringOff, window, A, st, map, nKv, S);
      for (let i = 0; i < hs; i++) set32(out, qo + i, 0);
      if (B == -2147483647) continue;
      const oh = out + (<usize>qo << 2);
      for (let t = 0; t < n; t++) {
        const r8 = row8(t, g, first8, ringOff, window, A, st, map, nKv), ks = r8 >= 0 ? (S + r8) * nKv + g : t * nKv + g;
        const wt = valueWeight(w, vM, vE, t, ks, B, L);
        if (wt == 0) continue;
        if (r8 >= 0) axpyRow(oh, wt, vc + <usize>(vRing + r8 * kvD + gh), hs, 8);
        else axpyRow(oh, wt, vc + <usize>(((t * kvD + gh) * vBits) >> 3), hs, vBits);
      }
      recipScale(sum, sc, 2);
      const shift = i32at(sc, 3) - ACT_FRAC - B + L;
      const rm = i32at(sc, 2);
      for (let i = 0; i < hs; i++) set32(out, qo + i, mulShiftRound(i32at(out, qo + i), rm, shift));
    }
  }
}
