// rope: rotary position embedding in Q16 from the baked cos/sin tables
// (docs/integer-spec.md §3.5), in place.
import { ropeQ16 } from '../../../runtime/kernels/reference/rope.ts';
import type { OpDef } from '../op-def.ts';
import { multipleOf, positive } from '../param-rules.ts';

export const rope: OpDef = {
  kind: 'rope',
  kernel: 'rope',
  inputs: [
    { name: 'v', type: 'i32 [n]' }, { name: 'input', type: 'position' },
    { name: 'cos', type: 'i16 [S, hs/2]' }, { name: 'sin', type: 'i16 [S, hs/2]' },
  ],
  outputs: [{ name: 'v', type: '(same slot)' }],
  params: [
    { name: 'n', rules: [positive, multipleOf('hs')] },
    { name: 'hs', rules: [positive, multipleOf(2)] },
  ],
  device: {
    check: 'checkRope', run: 'runRope', imports: ['ropeQ16'],
    operands: `const half = <i64>cfgSeqLen * (hs >> 1);
return isSlot(r, 0, false, I32, n) && isInput(r, 1, ProgramInput.position) && isTensor(r, 2, I16, half) &&
  isTensor(r, 3, I16, half) && sameSlot(r, 0, 0);`,
    body: 'ropeQ16(inp(r, 0), n, hs, inp(r, 2), inp(r, 3), inPos);',
  },
  interpret: (o, step) => {
    o.counts(4, 1, 2);
    const v = o.in<Int32Array>(0, 'int32');
    o.input(1, 'position');
    const cos = o.in<Int16Array>(2, 'int16'), sin = o.in<Int16Array>(3, 'int16');
    o.out(0, 'int32'); // the same slot as input 0 (checked by the runtime)
    const n = o.p(0), hs = o.p(1);
    return () => ropeQ16(v, n, hs, cos, sin, step.position);
  },
};
