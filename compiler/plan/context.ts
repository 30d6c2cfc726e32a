// `--context N|max`: the model's context (seq_len: the KV cache's rows, the RoPE tables'
// rows) cut to N positions, or to the largest that fits the target's RAM budget. A shorter
// context is exact: the first N rows of the RoPE tables are the tables of N positions.
import type { QuantModel } from '../quantize/quant-model.ts';
import { usageError } from '../util/errors.ts';

/** `m` with context n (1 <= n <= m.params.seqLen); usage error otherwise. */
export function withContext(m: QuantModel, n: number): QuantModel {
  const S = m.params.seqLen;
  if (!Number.isInteger(n) || n < 1 || n > S) throw usageError(`--context ${n}: the model's context is ${S} positions; give 1..${S} or max`);
  if (n === S) return m;
  const tensors = m.tensors.map((t) => {
    if (t.name !== 'rope.cos' && t.name !== 'rope.sin') return t;
    const row = t.shape[1];
    return { ...t, shape: [n, row], data: t.data.slice(0, n * row) };
  });
  return { ...m, params: { ...m.params, seqLen: n }, tensors };
}

/** Parses `--context`: a positive integer or "max". */
export function parseContext(s: string): number | 'max' {
  if (s === 'max') return 'max';
  if (!/^[1-9]\d*$/.test(s)) throw usageError(`--context ${JSON.stringify(s)}: expected a number of positions or max`);
  return Number(s);
}
