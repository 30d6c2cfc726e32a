// swiglu: h1 = silu(h1) · h3 in Q16 with the baked SiLU table (docs/integer-spec.md §3.8), in place.
import { swigluQ16 } from '../../../runtime/kernels/reference/silu.ts';
import type { OpDef } from '../op-def.ts';
import { positive } from '../param-rules.ts';

export const swiglu: OpDef = {
  kind: 'swiglu',
  kernel: 'silu',
  inputs: [{ name: 'h1', type: 'i32 [n]' }, { name: 'h3', type: 'i32 [n]' }, { name: 'silu', type: 'i32 [2049]' }],
  outputs: [{ name: 'h1', type: '(same slot)' }],
  params: [{ name: 'n', rules: [positive] }],
  device: {
    check: 'checkSwiglu', run: 'runSwiglu', imports: ['swigluQ16'],
    operands: 'isSlot(r, 0, false, I32, n) && isSlot(r, 1, false, I32, n) && isTensor(r, 2, I32, SILU_TABLE_SIZE) && sameSlot(r, 0, 0)',
    body: 'swigluQ16(inp(r, 0), inp(r, 1), n, inp(r, 2));',
  },
  interpret: (o) => {
    o.counts(3, 1, 1);
    const h1 = o.in<Int32Array>(0, 'int32'), h3 = o.in<Int32Array>(1, 'int32'), silu = o.in<Int32Array>(2, 'int32');
    o.out(0, 'int32');
    const n = o.p(0);
    return () => swigluQ16(h1, h3, n, silu);
  },
};
