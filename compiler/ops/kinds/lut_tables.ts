// lut_tables: the per-input lookup tables the LUT GEMV reads (docs/integer-spec.md §9.2).
// Its output is in a format private to each kernel pair (the SIMD tables differ from the
// scalar ones): opaque.
import { lutTables } from '../../../runtime/kernels/reference/gemv_lut.ts';
import { positive, type OpDef } from '../op-def.ts';

export const lut_tables: OpDef = {
  kind: 'lut_tables',
  kernel: 'gemv_lut',
  inputs: [{ name: 'x', type: 'i16 [n]' }],
  outputs: [{ name: 'T', type: 'i16 [4n] (8n bytes)' }],
  params: [{ name: 'n', note: '(a multiple of 32)', check: (v) => (positive(v) ?? (v % 32 === 0 ? null : 'must be a multiple of 32')) }],
  device: { check: 'checkLutTables', run: 'runLutTables', simdRun: 'runLutTablesSimd' },
  opaque: true,
  interpret: (o) => {
    o.counts(1, 1, 1);
    const x = o.in<Int16Array>(0, 'int16'), t = o.out<Int16Array>(0, 'int16'), n = o.p(0);
    return () => lutTables(t, x, n);
  },
};
