// Token embedding lookup (docs/integer-spec.md §3.1): one int8 row, dequantized with the
// row's scale into the Q16 residual stream.

import { ACT_FRAC } from './constants.ts';
import { mulShiftRound } from './int64.ts';

/** out[0..dim) = emb[token, :] * scale(token) in Q16, rounded half up. */
export function embeddingLookup(
  out: Int32Array, emb: Int8Array, embM: Int16Array, embE: Int8Array, token: number, dim: number,
): void {
  const row = token * dim, m = embM[token], s = embE[token] - ACT_FRAC;
  for (let i = 0; i < dim; i++) out[i] = mulShiftRound(emb[row + i], m, s);
}
