// Integer sampling from Q16 logits (docs/integer-spec.md §3.12). Port of
// runtime/kernels/reference/sampler.ts: same steps, same counting sort.
import { argmaxInt } from "./argmax";
import { satSub } from "./arith";
import { LOG2E_E, LOG2E_M, SCORE_FRAC } from "./constants";
import { mulShiftFloor, mulShiftRound } from "./int64";
import { i32at, set32 } from "./mem";
import { rngNext } from "./rng";
import { mulScale, recipScale } from "./scale";
import { exp2Neg } from "./softmax";

/** Largest probability value: the exp2 table's one (2^14). */
export const P_ONE: i32 = 1 << 14;

const sc: usize = memory.data(16, 16);

/**
 * Picks a token from logits[0..n) (Q16, n < 2^17). Scratch: p and order int32 [n], count
 * int32 [P_ONE + 2]. temperatureQ16 <= 0 is greedy; toppQ16 <= 0 or >= 65536: no nucleus.
 */
export function sampleInt(
  logits: usize, n: i32, temperatureQ16: i32, toppQ16: i32,
  exp2: usize, p: usize, order: usize, count: usize,
): i32 {
  if (temperatureQ16 <= 0) return argmaxInt(logits, n);
  let max = i32at(logits, 0);
  for (let i = 1; i < n; i++) if (i32at(logits, i) > max) max = i32at(logits, i);
  recipScale(temperatureQ16, sc, 2);
  mulScale(LOG2E_M, LOG2E_E, i32at(sc, 2), i32at(sc, 3), sc, 0);
  const shift = i32at(sc, 1) - SCORE_FRAC, cm = i32at(sc, 0);
  let sum = 0; // <= n * 2^14 < 2^31
  for (let i = 0; i < n; i++) {
    const v = exp2Neg(mulShiftRound(satSub(max, i32at(logits, i)), cm, shift), exp2);
    set32(p, i, v);
    sum = sum + v;
  }
  const coin = <i32>(<u32>rngNext() >> 8); // 24 random bits, as run.c's random_f32 uses them
  if (toppQ16 <= 0 || toppQ16 >= 65536) {
    const r = mulShiftFloor(coin, sum, 24);
    let cdf = 0;
    for (let i = 0; i < n; i++) { cdf = cdf + i32at(p, i); if (cdf > r) return i; }
    return n - 1; // unreachable: cdf reaches sum > r
  }
  // Descending probability, ties by increasing id: counting sort on the value p.
  for (let v = 0; v <= P_ONE + 1; v++) set32(count, v, 0);
  for (let i = 0; i < n; i++) { const v = i32at(p, i); set32(count, v, i32at(count, v) + 1); }
  let start = 0;
  for (let v = P_ONE; v >= 0; v--) { const c = i32at(count, v); set32(count, v, start); start = start + c; }
  for (let i = 0; i < n; i++) { const v = i32at(p, i); set32(order, i32at(count, v), i); set32(count, v, i32at(count, v) + 1); }
  const thr = mulShiftFloor(sum, toppQ16, 16);
  let cum = 0, last = n - 1;
  for (let j = 0; j < n; j++) { cum = cum + i32at(p, i32at(order, j)); if (cum > thr) { last = j; break; } }
  const r = mulShiftFloor(coin, cum, 24);
  let cdf = 0;
  for (let j = 0; j <= last; j++) { cdf = cdf + i32at(p, i32at(order, j)); if (cdf > r) return i32at(order, j); }
  return i32at(order, last); // unreachable
}
