// requantize: quantizeAct (docs/integer-spec.md §3.2) of a Q16 vector to 12 bits (int16)
// or int8, with its scale.
import {
  ACT_QMAX, INV_ACT_QMAX_E, INV_ACT_QMAX_M, INV_QMAX8_E, INV_QMAX8_M, QMAX8,
} from '../../../runtime/kernels/reference/constants.ts';
import { quantizeAct } from '../../../runtime/kernels/reference/quantize_act.ts';
import type { OpDef } from '../op-def.ts';
import { inRange, oneOf, positive } from '../param-rules.ts';

export const requantize: OpDef = {
  kind: 'requantize',
  kernel: 'quantize_act',
  inputs: [{ name: 'v', type: 'i32 [n]' }],
  outputs: [{ name: 'q', type: 'i16 [n] (qmax 2047) or i8 [n] (qmax 127)' }, { name: 'scale', type: '' }],
  params: [{ name: 'n', rules: [positive] }, { name: 'frac', rules: [inRange(0, 30)] }, { name: 'qmax', rules: [oneOf(QMAX8, ACT_QMAX)] }],
  device: {
    check: 'checkRequantize', run: 'runRequantize', imports: ['quantizeAct'],
    operands: 'isSlot(r, 0, false, I32, n) && isSlot(r, 0, true, qmax == QMAX8 ? I8 : I16, n) && isSlot(r, 1, true, I32, SCALE_ELEMS)',
    body: `if (qmax == QMAX8) quantizeAct<i8>(outp(r, 0), 0, inp(r, 0), 0, n, frac, QMAX8, INV_QMAX8_M, INV_QMAX8_E, outp(r, 1), 0);
else quantizeAct<i16>(outp(r, 0), 0, inp(r, 0), 0, n, frac, ACT_QMAX, INV_ACT_QMAX_M, INV_ACT_QMAX_E, outp(r, 1), 0);`,
  },
  interpret: (o) => {
    o.counts(1, 2, 3);
    const v = o.in<Int32Array>(0, 'int32');
    const [n, frac, qmax] = o.op.params;
    const sc = o.out<Int32Array>(1, 'int32');
    if (qmax === QMAX8) {
      const q = o.out<Int8Array>(0, 'int8');
      return () => quantizeAct(q, 0, v, 0, n, frac, QMAX8, INV_QMAX8_M, INV_QMAX8_E, sc, 0);
    }
    const q = o.out<Int16Array>(0, 'int16');
    return () => quantizeAct(q, 0, v, 0, n, frac, ACT_QMAX, INV_ACT_QMAX_M, INV_ACT_QMAX_E, sc, 0);
  },
};
