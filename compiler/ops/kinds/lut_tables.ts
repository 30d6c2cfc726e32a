// lut_tables: the per-input lookup tables the LUT GEMV reads (docs/integer-spec.md §9.2).
// Its output is in a format private to each kernel pair (the SIMD tables differ from the
// scalar ones): opaque.
import { lutTables } from '../../../runtime/kernels/reference/gemv_lut.ts';
import type { OpDef } from '../op-def.ts';
import { multipleOf, positive } from '../param-rules.ts';

export const lut_tables: OpDef = {
  kind: 'lut_tables',
  kernel: 'gemv_lut',
  inputs: [{ name: 'x', type: 'i16 [n]' }],
  outputs: [{ name: 'T', type: 'i16 [4n] (8n bytes)' }],
  params: [{ name: 'n', note: '(a multiple of 32)', rules: [positive, multipleOf(32)] }],
  device: {
    check: 'checkLutTables', run: 'runLutTables', simdRun: 'runLutTablesSimd', imports: ['lutTables'],
    operands: 'isSlot(r, 0, false, I16, n) && isSlot(r, 0, true, I16, <i64>n << 2)',
    // Each flavour's own tables (same size, own content): built and read only by its pair.
    body: 'lutTables(outp(r, 0), inp(r, 0), n);',
    simdBody: 'lutTables(outp(r, 0), inp(r, 0), n);',
  },
  opaque: true,
  interpret: (o) => {
    o.counts(1, 1, 1);
    const x = o.in<Int16Array>(0, 'int16'), t = o.out<Int16Array>(0, 'int16'), n = o.p(0);
    return () => lutTables(t, x, n);
  },
};
