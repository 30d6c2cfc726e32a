// attention: causal multi-head (grouped-query) attention over the int16/int8 KV cache
// with the exp2 softmax (docs/integer-spec.md §3.6, §3.7).
import { AttentionScratch, attention as attentionKernel } from '../../../runtime/kernels/reference/attention.ts';
import { positive, type OpDef } from '../op-def.ts';

export const attention: OpDef = {
  kind: 'attention',
  kernel: 'attention',
  inputs: [
    { name: 'q', type: 'i32 [nH·hs]' }, { name: 'input', type: 'position' },
    { name: 'the six cache slots of `kv_store`', type: '(same order)' },
    { name: 'exp2', type: 'i16 [1024]' }, { name: 'q12', type: 'i16 [hs]' },
    { name: 'scores', type: 'i32 [S]' }, { name: 'weights', type: 'i32 [S]' },
  ],
  outputs: [{ name: 'out', type: 'i32 [nH·hs]' }],
  params: [
    { name: 'nHeads', check: (v, p) => (positive(v) ?? (v % p.nKv === 0 ? null : 'must be a multiple of nKv')) },
    { name: 'nKv', check: positive }, { name: 'hs', check: positive },
    { name: 'attScaleM' }, { name: 'attScaleE' },
  ],
  device: { check: 'checkAttention', run: 'runAttention' },
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
