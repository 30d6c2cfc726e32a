// residual_add: x += y in Q16, saturating (docs/integer-spec.md §3.9), in place.
import { residualAdd } from '../../../runtime/kernels/reference/residual.ts';
import type { OpDef } from '../op-def.ts';
import { positive } from '../param-rules.ts';

export const residual_add: OpDef = {
  kind: 'residual_add',
  kernel: 'residual',
  inputs: [{ name: 'x', type: 'i32 [n]' }, { name: 'y', type: 'i32 [n]' }],
  outputs: [{ name: 'x', type: '(same slot)' }],
  params: [{ name: 'n', rules: [positive] }],
  device: {
    check: 'checkResidualAdd', run: 'runResidualAdd', imports: ['residualAdd'],
    operands: 'isSlot(r, 0, false, I32, n) && isSlot(r, 1, false, I32, n) && sameSlot(r, 0, 0)',
    body: 'residualAdd(inp(r, 0), inp(r, 1), n);',
  },
  interpret: (o) => {
    o.counts(2, 1, 1);
    const x = o.in<Int32Array>(0, 'int32'), y = o.in<Int32Array>(1, 'int32');
    o.out(0, 'int32');
    const n = o.p(0);
    return () => residualAdd(x, y, n);
  },
};
