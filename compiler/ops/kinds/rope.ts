// rope: rotary position embedding in Q16 from the baked cos/sin tables
// (docs/integer-spec.md §3.5), in place.
import { ropeQ16 } from '../../../runtime/kernels/reference/rope.ts';
import { positive, type OpDef } from '../op-def.ts';

export const rope: OpDef = {
  kind: 'rope',
  kernel: 'rope',
  inputs: [
    { name: 'v', type: 'i32 [n]' }, { name: 'input', type: 'position' },
    { name: 'cos', type: 'i16 [S, hs/2]' }, { name: 'sin', type: 'i16 [S, hs/2]' },
  ],
  outputs: [{ name: 'v', type: '(same slot)' }],
  params: [
    { name: 'n', check: (v, p) => (positive(v) ?? (v % p.hs === 0 ? null : 'must be a multiple of hs')) },
    { name: 'hs', check: (v) => (positive(v) ?? (v % 2 === 0 ? null : 'must be even')) },
  ],
  device: { check: 'checkRope', run: 'runRope' },
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
