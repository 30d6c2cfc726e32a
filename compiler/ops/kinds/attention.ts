// attention: causal multi-head (grouped-query) attention over the int16/int8 KV cache
// with the exp2 softmax (docs/integer-spec.md §3.6, §3.7).
import { AttentionScratch, attention as attentionKernel } from '../../../runtime/kernels/reference/attention.ts';
import type { OpDef } from '../op-def.ts';
import { multipleOf, positive } from '../param-rules.ts';

export const attention: OpDef = {
  kind: 'attention',
  kernel: 'attention',
  inputs: [
    { name: 'q', type: 'i32 [nH·hs]' }, { name: 'input', type: 'position' },
    { name: 'the six cache slots of `kv_store`', type: '(same order)', count: 6 },
    { name: 'exp2', type: 'i16 [1024]' }, { name: 'q12', type: 'i16 [hs]' },
    { name: 'scores', type: 'i32 [S]' }, { name: 'weights', type: 'i32 [S]' },
  ],
  outputs: [{ name: 'out', type: 'i32 [nH·hs]' }],
  params: [
    { name: 'nHeads', rules: [positive, multipleOf('nKv')] },
    { name: 'nKv', rules: [positive] }, { name: 'hs', rules: [positive] },
    { name: 'attScaleM' }, { name: 'attScaleE' },
  ],
  device: {
    check: 'checkAttention', run: 'runAttention', imports: ['attention'],
    operands: `const kvD = <i64>nKv * hs, S = <i64>cfgSeqLen, qd = <i64>nHeads * hs;
return isSlot(r, 0, false, I32, qd) && isInput(r, 1, ProgramInput.position) &&
  isSlot(r, 2, false, I16, S * kvD) && isSlot(r, 3, false, I16, S * nKv) && isSlot(r, 4, false, I8, S * nKv) &&
  isSlot(r, 5, false, I8, S * kvD) && isSlot(r, 6, false, I16, S * nKv) && isSlot(r, 7, false, I8, S * nKv) &&
  isTensor(r, 8, I16, EXP2_TABLE_SIZE) && isSlot(r, 9, false, I16, hs) && isSlot(r, 10, false, I32, S) &&
  isSlot(r, 11, false, I32, S) && isSlot(r, 0, true, I32, qd);`,
    body: `attention(outp(r, 0), inp(r, 0), inPos, inp(r, 2), inp(r, 3), inp(r, 4), inp(r, 5), inp(r, 6), inp(r, 7),
  nHeads, nKv, hs, attScaleM, attScaleE, inp(r, 8), inp(r, 9), inp(r, 10), inp(r, 11));`,
  },
  interpret: (o, step) => {
    o.counts(12, 1, 5);
    const q = o.in<Int32Array>(0, 'int32');
    o.input(1, 'position');
    const kc = o.in<Int16Array>(2, 'int16'), kM = o.in<Int16Array>(3, 'int16'), kE = o.in<Int8Array>(4, 'int8');
    const vc = o.in<Int8Array>(5, 'int8'), vM = o.in<Int16Array>(6, 'int16'), vE = o.in<Int8Array>(7, 'int8');
    const exp2 = o.in<Int16Array>(8, 'int16');
    // The kernel's scratch lives in the program's slots, as on the device.
    const s = Object.assign(Object.create(AttentionScratch.prototype) as AttentionScratch, {
      q12: o.in<Int16Array>(9, 'int16'), scores: o.in<Int32Array>(10, 'int32'), weights: o.in<Int32Array>(11, 'int32'),
      sc: new Int32Array(4),
    });
    const out = o.out<Int32Array>(0, 'int32');
    const [nH, nKv, hs, attM, attE] = o.op.params;
    return () => attentionKernel(out, q, step.position, kc, kM, kE, vc, vM, vE, nH, nKv, hs, attM, attE, exp2, s);
  },
};
