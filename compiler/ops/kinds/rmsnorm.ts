// rmsnorm: RMSNorm with integer rsqrt, quantized to a 12-bit vector and its scale
// (docs/integer-spec.md §3.3).
import { rmsnormQuant } from '../../../runtime/kernels/reference/rmsnorm.ts';
import type { OpDef } from '../op-def.ts';
import { atMost, ceilLog2Of, inRange, nonNegative, positive, productBelow } from '../param-rules.ts';

export const rmsnorm: OpDef = {
  kind: 'rmsnorm',
  kernel: 'rmsnorm',
  inputs: [{ name: 'x', type: 'i32 [n]' }, { name: 'gain', type: 'i16 [n]' }, { name: 'u', type: 'i32 [n] (scratch)' }],
  outputs: [{ name: 'q', type: 'i16 [n]' }, { name: 'scale', type: '' }],
  params: [
    { name: 'n', rules: [positive] },
    // gainFrac is a shift of an int16 gain.
    { name: 'gainFrac', rules: [inRange(0, 30)] },
    // sqShift = ceil(log2 n) <= 28 and eps · n < 2^31 (§3.3): then the sum of squares is
    // >= 1 and rsqrtScale never divides by zero (scripts/fuzz.ts found sqShift 31 trapping).
    { name: 'rmsEpsQ32', rules: [nonNegative, productBelow('n', 0x80000000, '2^31')] },
    { name: 'rmsSqShift', rules: [atMost(28), ceilLog2Of('n')] },
    { name: 'rmsDimScaleM' },
    { name: 'rmsDimScaleE' },
  ],
  device: {
    check: 'checkRmsnorm', run: 'runRmsnorm', imports: ['rmsnormQuant'],
    operands: `isSlot(r, 0, false, I32, n) && isTensor(r, 1, I16, n) && isSlot(r, 2, false, I32, n) &&
  isSlot(r, 0, true, I16, n) && isSlot(r, 1, true, I32, SCALE_ELEMS)`,
    body: `rmsnormQuant(outp(r, 0), inp(r, 0), n, inp(r, 1), gainFrac, rmsEpsQ32, rmsSqShift, rmsDimScaleM, rmsDimScaleE,
  inp(r, 2), outp(r, 1), 0);`,
  },
  interpret: (o) => {
    o.counts(3, 2, 6);
    const x = o.in<Int32Array>(0, 'int32'), g = o.in<Int16Array>(1, 'int16'), u = o.in<Int32Array>(2, 'int32');
    const q = o.out<Int16Array>(0, 'int16'), sc = o.out<Int32Array>(1, 'int32');
    const [n, gainFrac, eps, sqShift, dimM, dimE] = o.op.params;
    return () => rmsnormQuant(q, x, n, g, gainFrac, eps, sqShift, dimM, dimE, u, sc, 0);
  },
};
