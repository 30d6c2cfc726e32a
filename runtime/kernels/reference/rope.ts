// Rotary position embedding on Q16 vectors (docs/integer-spec.md §3.5), with the baked
// int16 cos/sin tables (ROPE_FRAC = 14 fractional bits, shape [seqLen, headSize/2]).
// Pairs are consecutive elements (2i, 2i+1) of each head, as in llama2.c.

import { satAdd, satSub } from './arith.ts';
import { ROPE_FRAC } from './constants.ts';
import { mulShiftRound } from './int64.ts';

/**
 * Rotates v[0..n) (n a multiple of headSize) in place for position pos:
 *   a' = round(a cos / 2^14) - round(b sin / 2^14),  b' = round(a sin / 2^14) + round(b cos / 2^14)
 * each product rounded half up on its own, the sum saturated.
 */
export function ropeQ16(
  v: Int32Array, n: number, headSize: number, cos: Int16Array, sin: Int16Array, pos: number,
): void {
  const half = headSize >> 1, row = pos * half;
  for (let h = 0; h < n; h += headSize) {
    for (let i = 0; i < half; i++) {
      const c = cos[row + i], s = sin[row + i];
      const a = v[h + 2 * i], b = v[h + 2 * i + 1];
      v[h + 2 * i] = satSub(mulShiftRound(a, c, ROPE_FRAC), mulShiftRound(b, s, ROPE_FRAC));
      v[h + 2 * i + 1] = satAdd(mulShiftRound(a, s, ROPE_FRAC), mulShiftRound(b, c, ROPE_FRAC));
    }
  }
}
