// Integer softmax numerator by table (docs/integer-spec.md §3.6): for scores s[t] in log2
// units with SCORE_FRAC = 10 fractional bits, e[t] = 2^(s[t] - max s) with 14 fractional
// bits (one = 2^14), from a 1024-entry table of 2^(-f/1024) and a shift by the integer part.
// A table rather than I-BERT's polynomial: one load and one shift, exact to 2^-15.
// Normalization is left to the caller (attention folds 1/sum into its output, the sampler
// compares against the sum).

import { satSub } from './arith.ts';
import { SCORE_FRAC } from './constants.ts';

/** 2^(-d / 2^SCORE_FRAC) for d >= 0: table[d & 1023] shifted right by d >> 10, rounded half up. */
export function exp2Neg(d: number, table: Int16Array): number {
  const n = d >> SCORE_FRAC;
  if (n >= 31) return 0;
  const t = table[d & ((1 << SCORE_FRAC) - 1)]; // <= 2^14
  return n === 0 ? t : (t + (1 << (n - 1))) >> n;
}

/**
 * e[0..n) = 2^(s - max s) for scores s[0..n); returns sum e (<= n * 2^14 < 2^31 for
 * n < 2^17). The largest score gets table[0] = 2^14, so sum >= 2^14.
 */
export function softmaxExp2(e: Int32Array, s: Int32Array, n: number, table: Int16Array): number {
  let max = s[0];
  for (let t = 1; t < n; t++) if (s[t] > max) max = s[t];
  let sum = 0;
  for (let t = 0; t < n; t++) {
    const v = exp2Neg(satSub(max, s[t]), table);
    e[t] = v;
    sum = sum + v;
  }
  return sum;
}
