// Cross-entropy loss and gradient from Q16 logits (docs/integer-spec.md §13.6). Port of
// runtime/kernels/reference/cross_entropy.ts. Scratch: e [n] i32 (caller).
import { bitLength, satSub } from "./arith";
import { GRAD_FRAC, LN2_E, LN2_M, LOG2E_E, LOG2E_M, LOGIT_FRAC, SCORE_FRAC } from "./constants";
import { mulShiftRound } from "./int64";
import { i16at, i32at, set32 } from "./mem";
import { recipScale } from "./scale";

const LOG_FRAC: i32 = 16;
const E_FRAC: i32 = 29;
const sc: usize = memory.data(8, 8);

/** log2(v) in Q16 for v >= 1 (integer part by bit length, 16 fraction bits by squaring). */
export function log2Q16(v: i32): i32 {
  const b = bitLength(v) - 1;
  let y = b <= 29 ? v << (29 - b) : v >> (b - 29);
  let f = 0;
  for (let i = 0; i < LOG_FRAC; i++) {
    y = mulShiftRound(y, y, 29);
    f = f << 1;
    if (y >= 1 << 30) { f = f | 1; y = y >> 1; }
  }
  return (b << LOG_FRAC) + f;
}

/** 2^(-d / 1024) in Q29 for d >= 0. */
export function exp2NegQ29(d: i32, table: usize): i32 {
  const t = i16at(table, d & ((1 << SCORE_FRAC) - 1));
  const s = (d >> SCORE_FRAC) - (E_FRAC - 14);
  if (s <= 0) return t << -s;
  if (s > 30) return 0;
  return (t + (1 << (s - 1))) >> s;
}

/** Returns -log p_target (Q16 nats); dlogits[0..n) = p - onehot(target) in Q24. */
export function crossEntropy(dlogits: usize, logits: usize, n: i32, target: i32, exp2: usize, e: usize): i32 {
  let max = i32at(logits, 0);
  for (let i = 1; i < n; i++) if (i32at(logits, i) > max) max = i32at(logits, i);
  const zShift = LOG2E_E + LOGIT_FRAC - SCORE_FRAC;
  let hi = 0, lo = 0;
  for (let i = 0; i < n; i++) {
    const v = exp2NegQ29(mulShiftRound(satSub(max, i32at(logits, i)), LOG2E_M, zShift), exp2);
    set32(e, i, v);
    hi = hi + (v >> 15);
    lo = lo + (v & 0x7fff);
  }
  hi = hi + (lo >> 15);
  lo = lo & 0x7fff;
  let sb = bitLength(hi) - 16;
  if (sb < 0) sb = 0;
  const sum = (hi << (15 - sb)) + (lo >> sb);
  recipScale(sum, sc, 0);
  const rm = i32at(sc, 0), pShift = i32at(sc, 1) + sb - GRAD_FRAC;
  for (let i = 0; i < n; i++) set32(dlogits, i, mulShiftRound(i32at(e, i), rm, pShift));
  set32(dlogits, target, i32at(dlogits, target) - (1 << GRAD_FRAC));
  const l2 = log2Q16(sum) + ((sb - E_FRAC) << LOG_FRAC);
  return satSub(mulShiftRound(l2, LN2_M, LN2_E), satSub(i32at(logits, target), max));
}
