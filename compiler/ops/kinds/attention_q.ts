// attention_q: attention (as `attention`) over kv_store_q's quantized cache
// (docs/integer-spec.md §3.7.1).
import { AttentionScratch } from '../../../runtime/kernels/reference/attention.ts';
import { attentionQ } from '../../../runtime/kernels/reference/attention_q.ts';
import type { OpDef } from '../op-def.ts';
import { multipleOf, positive } from '../param-rules.ts';
import { KVQ_ANCHORS, KVQ_CACHE, KVQ_PARAMS, kvqCacheOperands } from './kv_store_q.ts';

const [nKvP, hsP, kBitsP, vBitsP, windowP, anchorsP, kBlockP] = KVQ_PARAMS;

// The same call with either flavour's attentionQ.
const run = `attentionQ(outp(r, 0), inp(r, 0), inPos, inp(r, 2), inp(r, 3), inp(r, 4), inp(r, 5), inp(r, 6), inp(r, 7),
  <i32>cfgSeqLen, nHeads, nKv, hs, attScaleM, attScaleE, kBits, vBits, window, anchors, kBlock, outp(r, 1), inp(r, 8), inp(r, 9), inp(r, 10), inp(r, 11));`;

export const attention_q: OpDef = {
  kind: 'attention_q',
  kernel: 'attention_q',
  inputs: [
    { name: 'q', type: 'i32 [nH·hs]' }, { name: 'input', type: 'position' },
    ...KVQ_CACHE,
    { name: 'exp2', type: 'i16 [1024]' }, { name: 'q12', type: 'i16 [hs]' },
    { name: 'scores', type: 'i32 [S]' }, { name: 'weights', type: 'i32 [S]' },
  ],
  // The anchor state is an output: attention adds each position's attention mass to its score.
  outputs: [{ name: 'out', type: 'i32 [nH·hs]' }, KVQ_ANCHORS],
  params: [
    { name: 'nHeads', rules: [positive, multipleOf('nKv')] },
    nKvP, hsP, { name: 'attScaleM' }, { name: 'attScaleE' }, kBitsP, vBitsP, windowP, anchorsP, kBlockP,
  ],
  device: {
    check: 'checkAttentionQ', run: 'runAttentionQ', simdRun: 'runAttentionQSimd', imports: ['attentionQ'],
    operands: `const kvD = <i64>nKv * hs, S = <i64>cfgSeqLen, rows = (S + window + anchors) * nKv, qd = <i64>nHeads * hs;
return isSlot(r, 0, false, I32, qd) && isInput(r, 1, ProgramInput.position) &&
  ${kvqCacheOperands(2, false, 1)} &&
  isTensor(r, 8, I16, EXP2_TABLE_SIZE) && isSlot(r, 9, false, I16, hs) && isSlot(r, 10, false, I32, S) &&
  isSlot(r, 11, false, I32, S) && isSlot(r, 0, true, I32, qd);`,
    body: run,
    simdBody: run,
  },
  interpret: (o, step) => {
    o.counts(12, 2, 10);
    const q = o.in<Int32Array>(0, 'int32');
    o.input(1, 'position');
    const kc = o.in<Int8Array>(2, 'int8'), kM = o.in<Int16Array>(3, 'int16'), kE = o.in<Int8Array>(4, 'int8');
    const vc = o.in<Int8Array>(5, 'int8'), vM = o.in<Int16Array>(6, 'int16'), vE = o.in<Int8Array>(7, 'int8');
    const exp2 = o.in<Int16Array>(8, 'int16');
    const s = Object.assign(Object.create(AttentionScratch.prototype) as AttentionScratch, {
      q12: o.in<Int16Array>(9, 'int16'), scores: o.in<Int32Array>(10, 'int32'), weights: o.in<Int32Array>(11, 'int32'),
      sc: new Int32Array(4),
    });
    const out = o.out<Int32Array>(0, 'int32'), st = o.out<Int32Array>(1, 'int32');
    const [nH, nKv, hs, attM, attE, kBits, vBits, window, anchors, kBlock] = o.op.params;
    const S = o.seqLen;
    return () => attentionQ(out, q, step.position, kc, kM, kE, vc, vM, vE, S, nH, nKv, hs, attM, attE, kBits, vBits, window, anchors, kBlock, st, exp2, s);
  },
};
