// Token embedding lookup (docs/integer-spec.md §3.1). Port of
// runtime/kernels/reference/embedding.ts; the int8 table is read in place from the artifact.
import { ACT_FRAC } from "./constants";
import { mulShiftRound } from "./int64";
import { i16at, i8at, set32 } from "./mem";

/** out[0..dim) = emb[token, :] * scale(token) in Q16, rounded half up. */
export function embeddingLookup(out: usize, emb: usize, embM: usize, embE: usize, token: i32, dim: i32): void {
  const row = token * dim, m = i16at(embM, token), s = i8at(embE, token) - ACT_FRAC;
  for (let i = 0; i < dim; i++) set32(out, i, mulShiftRound(i8at(emb, row + i), m, s));
}
