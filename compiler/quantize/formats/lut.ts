// The LUT formats: b-bit codes with per-(row, group) mantissa and zero point and a per-row
// scale, stored as tiled bit-planes for the T-MAC style table-lookup kernels
// (docs/integer-spec.md §9). The block layout is stated once, in ../lowbit-format.ts; the
// quantizer (clip search) is ../lowbit.ts. One family, one line per entry: each takes the
// group sizes whose int32 / u16 bounds hold at its bits (lowbit-format.ts lutGroupFits), and
// a bit count no group size fits is refused here.
import { dequantizeLowbit, quantizeLowbit } from '../lowbit.ts';
import { gptqLowbit, gptqRule } from '../gptq-lowbit.ts';
import { LOWBIT_BITS, LUT_TILE_ROWS, groupsOf, lutGroupSizes, lutMaxInput, tilesOf, type LowBits } from '../lowbit-format.ts';
import type { FormatTensor, WeightFormatDef } from './format.ts';
import type { DTypeName } from '../../emit/dtype-name.ts';

function lutFormat<N extends DTypeName, B extends LowBits>(name: N, bits: B): WeightFormatDef<N, B> {
  if (!LOWBIT_BITS.includes(bits)) throw new Error(`LUT format ${name}: no group size fits ${bits}-bit codes (lowbit-format.ts lutGroupFits)`);
  return {
    name,
    bits,
    groupSizes: lutGroupSizes(bits),
    summary: `${bits}-bit codes in ${bits} bit-plane${bits > 1 ? 's' : ''}, per-group gm/z2, per-row scale; lut_tables + gemv_lut`,
    // A tile of 16 rows x 8 columns: one byte per row and plane (lowbit-format.ts).
    block: { rows: LUT_TILE_ROWS, cols: 8, bytes: LUT_TILE_ROWS * bits },
    // cols' = G ceil(cols / G) columns, the pad columns code 0 (lowbit-format.ts).
    padsToGroup: true,
    maxInput: lutMaxInput(bits),
    tensors: (rows, cols, groupSize): FormatTensor[] => [
      { suffix: '', dtype: name, shape: [rows, cols], params: { bits, groupSize } },
      { suffix: '.groups', dtype: 'uint8', shape: [tilesOf(rows), groupsOf(cols, groupSize), 2, LUT_TILE_ROWS], params: {} },
      { suffix: '.scale_m', dtype: 'int16', shape: [rows], params: {} },
      { suffix: '.scale_e', dtype: 'int8', shape: [rows], params: {} },
    ],
    quantize(w, rows, cols, groupSize, rowRunner) {
      const q = quantizeLowbit(w, rows, cols, { bits, groupSize }, rowRunner);
      return { data: [q.planes, q.groups, q.scaleM, q.scaleE], sqError: q.sqError };
    },
    quantizerRule: 'clip search',
    gptqRule,
    quantizeGptq(w, rows, cols, groupSize, h, opts) {
      const q = gptqLowbit(w, rows, cols, h, { ...opts, bits, groupSize });
      return { data: [q.planes, q.groups, q.scaleM, q.scaleE], sqError: q.sqError };
    },
    dequantize(data, rows, cols, groupSize) {
      const [planes, groups, scaleM, scaleE] = data as [Uint8Array, Uint8Array, Int16Array, Int8Array];
      return dequantizeLowbit({ bits, groupSize, rows, cols, planes, groups, scaleM, scaleE, sqError: 0 });
    },
    kernels: {
      op: 'gemv_lut',
      prepare: 'lut_tables',
      reference: 'runtime/kernels/reference/gemv_lut.ts',
      scalar: 'runtime/kernels/scalar/gemv_lut.ts',
      simd: 'runtime/kernels/simd/gemv_lut.ts',
    },
  };
}

export const q6 = lutFormat('q6', 6);
export const q5 = lutFormat('q5', 5);
export const q4Lut = lutFormat('q4_lut', 4);
export const q3 = lutFormat('q3', 3);
export const q2Lut = lutFormat('q2_lut', 2);
export const q1 = lutFormat('q1', 1);
