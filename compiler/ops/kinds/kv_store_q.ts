// kv_store_q: this position's K and V rows of one layer's quantized cache (8/4/2 bits,
// per (position, kv head) scales), and with a window W also at 8 bits in ring row
// position mod W (docs/integer-spec.md §3.7.1, docs/kv-cache.md).
import { kvStoreQ } from '../../../runtime/kernels/reference/kv_store_q.ts';
import { inRange, positive, type OpDef, type ParamDef } from '../op-def.ts';

/** Largest head size of the quantized cache ops (the device's row scratch; int32 bounds). */
export const KVQ_MAX_HS = 256;

/** Value widths of the quantized cache; a row of hs values must fill whole bytes. */
export const kvBitsParam = (name: string): ParamDef => ({
  name, note: '8, 4 or 2; hs·bits a multiple of 8',
  check: (v, p) => ([8, 4, 2].includes(v) ? ((p.hs * v) % 8 === 0 ? null : `needs hs·${name} a multiple of 8 (hs ${p.hs})`) : 'must be one of 8, 4, 2'),
});
export const KVQ_PARAMS: ParamDef[] = [
  { name: 'nKv', check: positive },
  { name: 'hs', note: `≤ ${KVQ_MAX_HS}`, check: (v) => positive(v) ?? (v <= KVQ_MAX_HS ? null : `must be at most ${KVQ_MAX_HS}`) },
  kvBitsParam('kBits'), kvBitsParam('vBits'),
  // At most seq_len (≤ 4096): the device checks it against the model's seq_len.
  { name: 'window', note: '0 (none) to seq_len', check: inRange(0, 4096) },
];

/** The cache operands (kv_store_q's outputs, attention_q's inputs 2..7). */
export const KVQ_CACHE = [
  { name: 'K', type: 'i8 [S·kvD·kBits/8 + W·kvD]' }, { name: 'K.m', type: 'i16 [S + W, nKv]' }, { name: 'K.e', type: 'i8 [S + W, nKv]' },
  { name: 'V', type: 'i8 [S·kvD·vBits/8 + W·kvD]' }, { name: 'V.m', type: 'i16 [S + W, nKv]' }, { name: 'V.e', type: 'i8 [S + W, nKv]' },
];

export const kv_store_q: OpDef = {
  kind: 'kv_store_q',
  kernel: 'kv_store_q',
  inputs: [{ name: 'k', type: 'i32 [kvD]' }, { name: 'v', type: 'i32 [kvD]' }, { name: 'input', type: 'position' }],
  outputs: KVQ_CACHE,
  params: KVQ_PARAMS,
  device: { check: 'checkKvStoreQ', run: 'runKvStoreQ' },
  interpret: (o, step) => {
    o.counts(3, 6, 5);
    const k = o.in<Int32Array>(0, 'int32'), v = o.in<Int32Array>(1, 'int32');
    o.input(2, 'position');
    const kc = o.out<Int8Array>(0, 'int8'), kM = o.out<Int16Array>(1, 'int16'), kE = o.out<Int8Array>(2, 'int8');
    const vc = o.out<Int8Array>(3, 'int8'), vM = o.out<Int16Array>(4, 'int16'), vE = o.out<Int8Array>(5, 'int8');
    const [nKv, hs, kBits, vBits, window] = o.op.params;
    const S = o.seqLen, row8 = new Int8Array(hs), sc = new Int32Array(4);
    return () => kvStoreQ(kc, kM, kE, vc, vM, vE, k, v, step.position, S, nKv, hs, kBits, vBits, window, row8, sc);
  },
};
