// int8: per-row symmetric int8 weights (docs/integer-spec.md §5.2). The values tensor is
// int8 [rows, cols] row-major (one byte per weight); each row o has a scale (m_o, e_o):
// w = q * m_o 2^-e_o. The embedding and (unless a plan opts in) the classifier always
// use it; GPTQ (compiler/quantize/gptq.ts) chooses other values in the same format.
import { quantizeRows } from '../weights.ts';
import { MAX_GEMV_INPUT } from '../lowbit-format.ts';
import type { WeightFormatDef } from './format.ts';

export const int8Format: WeightFormatDef<'int8', 8> = {
  name: 'int8',
  bits: 8,
  groupSizes: [],
  summary: 'int8 per-row: one byte per weight, one (m, e) scale per row; gemv',
  block: { rows: 1, cols: 1, bytes: 1 },
  maxInput: MAX_GEMV_INPUT,
  tensors: (rows, cols) => [
    { suffix: '', dtype: 'int8', shape: [rows, cols], params: {} },
    { suffix: '.scale_m', dtype: 'int16', shape: [rows], params: {} },
    { suffix: '.scale_e', dtype: 'int8', shape: [rows], params: {} },
  ],
  quantizerRule: 'round to nearest',
  quantize(w, rows, cols) {
    const r = quantizeRows(w, rows, cols);
    return { data: [r.q, r.m, r.e], sqError: r.sqError };
  },
  dequantize(data, rows, cols) {
    const [q, m, e] = data as [Int8Array, Int16Array, Int8Array];
    const out = new Float32Array(rows * cols);
    for (let o = 0; o < rows; o++) {
      const s = m[o] * 2 ** -e[o];
      for (let j = 0; j < cols; j++) out[o * cols + j] = q[o * cols + j] * s;
    }
    return out;
  },
  kernels: {
    op: 'gemv',
    reference: 'runtime/kernels/reference/gemv_q8.ts',
    scalar: 'runtime/kernels/scalar/gemv_q8.ts',
    simd: 'runtime/kernels/simd/gemv_q8.ts',
  },
};
