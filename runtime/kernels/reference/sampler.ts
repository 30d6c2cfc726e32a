// Integer sampling from Q16 logits (docs/integer-spec.md §3.12): temperature and top-p in
// Q16 fixed point, probabilities from the exp2 table (Q14, unnormalized), a 24-bit coin
// from the xorshift64* stream, and a deterministic descending order (ties by lower token
// id) built by counting sort over the 2^14 + 1 possible probability values.

import { argmaxInt } from './argmax.ts';
import { satSub } from './arith.ts';
import { LOG2E_E, LOG2E_M, SCORE_FRAC } from './constants.ts';
import { mulShiftFloor, mulShiftRound } from './int64.ts';
import type { Xorshift64Star } from './rng.ts';
import { mulScale, recipScale } from './scale.ts';
import { exp2Neg } from './softmax.ts';

/** Largest probability value: the exp2 table's one (2^14). */
const P_ONE = 1 << 14;

export class SamplerScratch {
  readonly p: Int32Array;
  readonly order: Int32Array;
  readonly count = new Int32Array(P_ONE + 2);
  readonly sc = new Int32Array(4);
  constructor(n: number) {
    this.p = new Int32Array(n);
    this.order = new Int32Array(n);
  }
}

/**
 * Picks a token from logits[0..n) (Q16, n < 2^17). temperatureQ16 = round(T * 2^16):
 * 0 means greedy (argmax, no random number drawn); toppQ16 = round(top_p * 2^16), with
 * values <= 0 or >= 65536 meaning no nucleus cut.
 */
export function sampleInt(
  logits: Int32Array, n: number, temperatureQ16: number, toppQ16: number,
  rng: Xorshift64Star, exp2: Int16Array, s: SamplerScratch,
): number {
  if (temperatureQ16 <= 0) return argmaxInt(logits, n);
  const p = s.p, sc = s.sc;
  let max = logits[0];
  for (let i = 1; i < n; i++) if (logits[i] > max) max = logits[i];
  // z = (max - l) * log2(e) / T in Q10: (max - l) [Q16] * log2(e) * 2^10 / temperatureQ16.
  recipScale(temperatureQ16, sc, 2);
  mulScale(LOG2E_M, LOG2E_E, sc[2], sc[3], sc, 0);
  const shift = sc[1] - SCORE_FRAC;
  let sum = 0; // <= n * 2^14 < 2^31
  for (let i = 0; i < n; i++) {
    const v = exp2Neg(mulShiftRound(satSub(max, logits[i]), sc[0], shift), exp2);
    p[i] = v;
    sum = sum + v;
  }
  const coin = (rng.next() >>> 8) | 0; // 24 random bits, as run.c's random_f32 uses them
  if (toppQ16 <= 0 || toppQ16 >= 65536) {
    // r = floor(coin * sum / 2^24) < sum: the first token (by id) whose cdf exceeds r.
    const r = mulShiftFloor(coin, sum, 24);
    let cdf = 0;
    for (let i = 0; i < n; i++) { cdf = cdf + p[i]; if (cdf > r) return i; }
    return n - 1; // unreachable: cdf reaches sum > r
  }
  // Descending probability, ties by increasing id: counting sort on the value p.
  const count = s.count, order = s.order;
  for (let v = 0; v <= P_ONE + 1; v++) count[v] = 0;
  for (let i = 0; i < n; i++) count[p[i]] = count[p[i]] + 1;
  let start = 0; // count[v] becomes the first slot of value v, values in descending order
  for (let v = P_ONE; v >= 0; v--) { const c = count[v]; count[v] = start; start = start + c; }
  for (let i = 0; i < n; i++) { const v = p[i]; order[count[v]] = i; count[v] = count[v] + 1; }
  // Nucleus: the shortest prefix whose mass exceeds top_p * sum, i.e. cum > thr with
  // thr = floor(sum * toppQ16 / 2^16) (cum * 2^16 > sum * toppQ16 exactly).
  const thr = mulShiftFloor(sum, toppQ16, 16);
  let cum = 0, last = n - 1;
  for (let j = 0; j < n; j++) { cum = cum + p[order[j]]; if (cum > thr) { last = j; break; } }
  const r = mulShiftFloor(coin, cum, 24);
  let cdf = 0;
  for (let j = 0; j <= last; j++) { cdf = cdf + p[order[j]]; if (cdf > r) return order[j]; }
  return order[last]; // unreachable
}
