// lut_tables: the per-input lookup tables the LUT GEMV reads (docs/integer-spec.md §9.2).
// Its output is in a format private to each kernel pair (the SIMD tables differ from the
// scalar ones): opaque. The tables cover nPad >= n activations, those past x's n counted as
// 0: a LUT matrix whose input size no group size divides is stored as whole groups
// (compiler/quantize/lowbit-format.ts paddedCols) and its gemv_lut runs on nPad columns.
import { lutTables } from '../../../runtime/kernels/reference/gemv_lut.ts';
import type { OpDef } from '../op-def.ts';
import { multipleOf, padsAtMostBelow, positive } from '../param-rules.ts';
import { ALL_GROUP_SIZES } from '../../quantize/formats/registry.ts';

/** The largest group size: a matrix is padded by less than that. */
const MAX_PAD = Math.max(...ALL_GROUP_SIZES);

export const lut_tables: OpDef = {
  kind: 'lut_tables',
  kernel: 'gemv_lut',
  inputs: [{ name: 'x', type: 'i16 [n]' }],
  outputs: [{ name: 'T', type: 'i16 [4 nPad] (8 nPad bytes)' }],
  params: [
    { name: 'n', note: '(x\'s length)', rules: [positive] },
    { name: 'nPad', note: `(activations covered, x_j = 0 for j >= n; a multiple of 32, n <= nPad < n + ${MAX_PAD})`, rules: [positive, multipleOf(32), padsAtMostBelow('n', MAX_PAD)] },
  ],
  device: {
    check: 'checkLutTables', run: 'runLutTables', simdRun: 'runLutTablesSimd', imports: ['lutTables'],
    operands: 'isSlot(r, 0, false, I16, n) && isSlot(r, 0, true, I16, <i64>nPad << 2)',
    // Each flavour's own tables (same size, own content): built and read only by its pair.
    body: 'lutTables(outp(r, 0), inp(r, 0), n, nPad);',
    simdBody: 'lutTables(outp(r, 0), inp(r, 0), n, nPad);',
  },
  opaque: true,
  interpret: (o) => {
    o.counts(1, 1, 2);
    const x = o.in<Int16Array>(0, 'int16'), t = o.out<Int16Array>(0, 'int16'), n = o.p(0), nPad = o.p(1);
    return () => lutTables(t, x, n, nPad);
  },
};
