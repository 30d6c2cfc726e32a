// attention_q: attention (as `attention`) over kv_store_q's quantized cache
// (docs/integer-spec.md §3.7.1).
import { AttentionScratch } from '../../../runtime/kernels/reference/attention.ts';
import { attentionQ } from '../../../runtime/kernels/reference/attention_q.ts';
import { positive, type OpDef } from '../op-def.ts';
import { KVQ_CACHE, KVQ_PARAMS } from './kv_store_q.ts';

const [nKvP, hsP, kBitsP, vBitsP, windowP] = KVQ_PARAMS;

export const attention_q: OpDef = {
  kind: 'attention_q',
  kernel: 'attention_q',
  inputs: [
    { name: 'q', type: 'i32 [nH·hs]' }, { name: 'input', type: 'position' },
    ...KVQ_CACHE,
    { name: 'exp2', type: 'i16 [1024]' }, { name: 'q12', type: 'i16 [hs]' },
    { name: 'scores', type: 'i32 [S]' }, { name: 'weights', type: 'i32 [S]' },
  ],
  outputs: [{ name: 'out', type: 'i32 [nH·hs]' }],
  params: [
    { name: 'nHeads', check: (v, p) => (positive(v) ?? (v % p.nKv === 0 ? null : 'must be a multiple of nKv')) },
    nKvP, hsP, { name: 'attScaleM' }, { name: 'attScaleE' }, kBitsP, vBitsP, windowP,
  ],
  device: { check: 'checkAttentionQ', run: 'runAttentionQ' },
  interpret: (o, step) => {
    o.counts(12, 1, 8);
    const q = o.in<Int32Array>(0, 'int32');
    o.input(1, 'position');
    const kc = o.in<Int8Array>(2, 'int8'), kM = o.in<Int16Array>(3, 'int16'), kE = o.in<Int8Array>(4, 'int8');
    const vc = o.in<Int8Array>(5, 'int8'), vM = o.in<Int16Array>(6, 'int16'), vE = o.in<Int8Array>(7, 'int8');
    const exp2 = o.in<Int16Array>(8, 'int16');
    const s = Object.assign(Object.create(AttentionScratch.prototype) as AttentionScratch, {
      q12: o.in<Int16Array>(9, 'int16'), scores: o.in<Int32Array>(10, 'int32'), weights: o.in<Int32Array>(11, 'int32'),
      sc: new Int32Array(4),
    });
    const out = o.out<Int32Array>(0, 'int32');
    const [nH, nKv, hs, attM, attE, kBits, vBits, window] = o.op.params;
    const S = o.seqLen;
    return () => attentionQ(out, q, step.position, kc, kM, kE, vc, vM, vE, S, nH, nKv, hs, attM, attE, kBits, vBits, window, exp2, s);
  },
};
