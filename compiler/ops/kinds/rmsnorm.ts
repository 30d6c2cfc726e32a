// rmsnorm: RMSNorm with integer rsqrt, quantized to a 12-bit vector and its scale
// (docs/integer-spec.md §3.3).
import { rmsnormQuant } from '../../../runtime/kernels/reference/rmsnorm.ts';
import { inRange, positive, type OpDef } from '../op-def.ts';

/** sqShift is ceil(log2 n) (§3.3): then the mean of squares never divides by zero. */
const ceilLog2 = (n: number) => (n > 1 ? 32 - Math.clz32(n - 1) : 0);

export const rmsnorm: OpDef = {
  kind: 'rmsnorm',
  kernel: 'rmsnorm',
  inputs: [{ name: 'x', type: 'i32 [n]' }, { name: 'gain', type: 'i16 [n]' }, { name: 'u', type: 'i32 [n] (scratch)' }],
  outputs: [{ name: 'q', type: 'i16 [n]' }, { name: 'scale', type: '' }],
  params: [
    { name: 'n', check: positive },
    { name: 'gainFrac', check: inRange(0, 30) },
    { name: 'rmsEpsQ32', check: (v, p) => (Number.isInteger(v) && v >= 0 && v * p.n < 2 ** 31 ? null : 'must be >= 0 with rmsEpsQ32 · n < 2^31') },
    { name: 'rmsSqShift', check: (v, p) => (v === ceilLog2(p.n) && v <= 28 ? null : `must be ceil(log2 n) = ${ceilLog2(p.n)} and <= 28`) },
    { name: 'rmsDimScaleM' },
    { name: 'rmsDimScaleE' },
  ],
  device: { check: 'checkRmsnorm', run: 'runRmsnorm' },
  interpret: (o) => {
    o.counts(3, 2, 6);
    const x = o.in<Int32Array>(0, 'int32'), g = o.in<Int16Array>(1, 'int16'), u = o.in<Int32Array>(2, 'int32');
    const q = o.out<Int16Array>(0, 'int16'), sc = o.out<Int32Array>(1, 'int32');
    const [n, gainFrac, eps, sqShift, dimM, dimE] = o.op.params;
    return () => rmsnormQuant(q, x, n, g, gainFrac, eps, sqShift, dimM, dimE, u, sc, 0);
  },
};
