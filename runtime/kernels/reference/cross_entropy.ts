// Cross-entropy loss and its gradient from Q16 logits (docs/integer-spec.md §13.6):
//   loss = -log p_target = ln(sum_i exp(l_i - max)) + (max - l_target)   (nats)
//   dlogits_i = p_i - [i = target]                                         (Q24)
// z_i = (max - l_i) log2(e) in Q10 log2 units as the sampler forms it, but the exponentials
// are kept with 29 fractional bits (e_max = 2^29) rather than softmaxExp2's 14: with a
// 32000-token vocabulary the many tail terms below 2^-15 would otherwise round to 0 and
// lose up to half of the mass. e_i = exp2 table[z & 1023] * 2^15 >> (z >> 10), rounded half
// up. The sum (< 2^46) is kept in two int32 words (multiples of 2^15, remainder) and
// normalized to 31 bits. ln(sum) = log2(sum) ln 2, log2 by bit length plus 16 fraction bits
// by repeated squaring (no table).

import { bitLength, satSub } from './arith.ts';
import { GRAD_FRAC, LN2_E, LN2_M, LOG2E_E, LOG2E_M, LOGIT_FRAC, SCORE_FRAC } from './constants.ts';
import { mulShiftRound } from './int64.ts';
import { recipScale } from './scale.ts';

/** Fractional bits of the exponentials e_i (e of the max logit = 2^E_FRAC). */
const E_FRAC = 29;

/** 2^(-d / 1024) in Q29 for d >= 0: the Q14 table entry shifted left 15, right d >> 10 (half up). */
export function exp2NegQ29(d: number, table: Int16Array): number {
  const t = table[d & ((1 << SCORE_FRAC) - 1)]; // <= 2^14
  const s = (d >> SCORE_FRAC) - (E_FRAC - 14);
  if (s <= 0) return t << -s; // <= 2^29
  if (s > 30) return 0; // t <= 2^14: t / 2^31 < 1/2
  return (t + (1 << (s - 1))) >> s; // t + 2^(s-1) < 2^31
}

/** Fraction bits of log2Q16. */
const LOG_FRAC = 16;

/**
 * log2(v) in Q16 for an integer v >= 1: the integer part is b = bitLength(v) - 1; v / 2^b
 * in [1, 2) as y in Q29 (exact for b <= 29; b = 30 drops v's last bit), then 16 times
 * y = y^2 (Q29, rounded half up; y < 2^30 so y^2 / 2^29 < 2^31 - 3): y >= 2 (2^30) gives
 * the next fraction bit 1 and y = y >> 1 (floor). The fraction is truncated, not rounded.
 */
export function log2Q16(v: number): number {
  const b = bitLength(v) - 1; // v in [2^b, 2^(b+1))
  let y = b <= 29 ? v << (29 - b) : v >> (b - 29); // [2^29, 2^30); b = 30 drops one bit
  let f = 0;
  for (let i = 0; i < LOG_FRAC; i++) {
    y = mulShiftRound(y, y, 29); // y < 2^30: y^2 / 2^29 < 2^31
    f = f << 1;
    if (y >= 1 << 30) { f = f | 1; y = y >> 1; }
  }
  return (b << LOG_FRAC) + f;
}

/** Scratch: e [n] int32 and 2 scale words (AssemblyScript: caller-provided e, static scale). */
export class CrossEntropyScratch {
  readonly e: Int32Array;
  readonly sc = new Int32Array(2);
  constructor(n: number) { this.e = new Int32Array(n); }
}

/**
 * Returns -log p_target in Q16 nats and writes dlogits[0..n) (Q24) from logits[0..n)
 * (Q16, n < 2^17). exp2 is the baked table.
 */
export function crossEntropy(
  dlogits: Int32Array, logits: Int32Array, n: number, target: number, exp2: Int16Array,
  s: CrossEntropyScratch,
): number {
  const e = s.e, sc = s.sc;
  let max = logits[0];
  for (let i = 1; i < n; i++) if (logits[i] > max) max = logits[i];
  // z = (max - l) [Q16] * log2(e) in Q10: shift LOG2E_E + 16 - 10 >= 0.
  const zShift = LOG2E_E + LOGIT_FRAC - SCORE_FRAC;
  // sum = hi * 2^15 + lo: hi gets e >> 15 (<= 2^14 per term), lo e & 0x7fff; n < 2^17 keeps both < 2^31.
  let hi = 0, lo = 0;
  for (let i = 0; i < n; i++) {
    const v = exp2NegQ29(mulShiftRound(satSub(max, logits[i]), LOG2E_M, zShift), exp2);
    e[i] = v;
    hi = hi + (v >> 15);
    lo = lo + (v & 0x7fff);
  }
  hi = hi + (lo >> 15);
  lo = lo & 0x7fff;
  // sum' = floor(sum / 2^sb) < 2^31, sb = max(0, bitLength(hi) - 16) <= 15; sum >= 2^29.
  let sb = bitLength(hi) - 16;
  if (sb < 0) sb = 0;
  const sum = (hi << (15 - sb)) + (lo >> sb);
  // p_i = e_i / sum = e_i * rm * 2^-(re + sb), re + sb - 24 >= 20.
  recipScale(sum, sc, 0);
  const rm = sc[0], pShift = sc[1] + sb - GRAD_FRAC;
  for (let i = 0; i < n; i++) dlogits[i] = mulShiftRound(e[i], rm, pShift); // <= 2^24 (+1)
  dlogits[target] = dlogits[target] - (1 << GRAD_FRAC);
  // loss = log2(sum / 2^29) ln 2 + (max - l_target), Q16; log2(sum' 2^sb) >= 29.
  const l2 = log2Q16(sum) + ((sb - E_FRAC) << LOG_FRAC);
  return satSub(mulShiftRound(l2, LN2_M, LN2_E), satSub(logits[target], max));
}
