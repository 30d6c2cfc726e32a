// vq2: vector-quantized 2-bit pairs (docs/integer-spec.md §9.7; issue 15 item 5, PCDVQ-style):
// 5-bit codes per 2 weights into a per-matrix codebook of 32 two-dimensional int8 codewords
// times one matrix scale; run by gemv_vq. Layout and quantizer: ../vq2.ts.
import { MAX_GEMV_INPUT } from '../lowbit-format.ts';
import { dequantizeVq2, quantizeVq2, VQ2_BLOCK_BYTES, VQ2_BLOCK_COLS, VQ2_CODES, VQ2_DIM, VQ2_TILE_ROWS, type Vq2Matrix } from '../vq2.ts';
import type { QuantizedMatrix, WeightFormatDef } from './format.ts';

const stored = (q: Vq2Matrix): QuantizedMatrix => ({ data: [q.codes, q.codebook, q.scaleM, q.scaleE], sqError: q.sqError });

export const vq2Format: WeightFormatDef<'vq2', 2.5> = {
  name: 'vq2',
  bits: 2.5,
  groupSizes: [],
  summary: '5-bit codes per 2 weights into a 32 x 2 int8 codebook per matrix, one matrix scale; gemv_vq',
  block: { rows: VQ2_TILE_ROWS, cols: VQ2_BLOCK_COLS, bytes: VQ2_BLOCK_BYTES },
  // The accumulator's bound is the int8 GEMV's: |acc| <= n · 2047 · 127 (§9.7.2).
  maxInput: MAX_GEMV_INPUT,
  tensors: (rows, cols) => [
    { suffix: '', dtype: 'vq2', shape: [rows, cols], params: {} },
    { suffix: '.codebook', dtype: 'int8', shape: [VQ2_CODES, VQ2_DIM], params: {} },
    { suffix: '.scale_m', dtype: 'int16', shape: [1], params: {} },
    { suffix: '.scale_e', dtype: 'int8', shape: [1], params: {} },
  ],
  quantizerRule: 'k-means codebook',
  gptqRule: () => 'GPTQ, codebook refit 3x',
  quantize: (w, rows, cols) => stored(quantizeVq2(w, rows, cols)),
  quantizeGptq: (w, rows, cols, _g, h) => stored(quantizeVq2(w, rows, cols, h)),
  dequantize(data, rows, cols) {
    const [codes, codebook, m, e] = data as [Uint8Array, Int8Array, Int16Array, Int8Array];
    return dequantizeVq2(codes, codebook, m[0], e[0], rows, cols);
  },
  kernels: {
    op: 'gemv_vq',
    reference: 'runtime/kernels/reference/gemv_vq.ts',
    scalar: 'runtime/kernels/scalar/gemv_vq.ts',
    simd: 'runtime/kernels/simd/gemv_vq.ts',
  },
};
