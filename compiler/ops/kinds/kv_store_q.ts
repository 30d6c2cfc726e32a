// kv_store_q: this position's K and V rows of one layer's quantized cache (8/4/2 bits,
// per (position, kv head) scales), and with a window W also at 8 bits in ring row
// position mod W (docs/integer-spec.md §3.7.1, docs/kv-cache.md).
import { kvStoreQ } from '../../../runtime/kernels/reference/kv_store_q.ts';
import type { OpDef, ParamDef } from '../op-def.ts';
import { atMost, inRange, oneOf, positive, productMultipleOf } from '../param-rules.ts';

/** Largest head size of the quantized cache ops (the device's row scratch; int32 bounds). */
export const KVQ_MAX_HS = 256;

/** Value widths of the quantized cache; a row of hs values must fill whole bytes. */
const kvBitsParam = (name: string): ParamDef => ({ name, note: '8, 4 or 2; hs·bits a multiple of 8', rules: [oneOf(8, 4, 2), productMultipleOf('hs', 8)] });
export const KVQ_PARAMS: ParamDef[] = [
  { name: 'nKv', rules: [positive] },
  { name: 'hs', note: `≤ ${KVQ_MAX_HS}`, rules: [positive, atMost(KVQ_MAX_HS)] },
  kvBitsParam('kBits'), kvBitsParam('vBits'),
  // At most seq_len (≤ 4096): the device's operand check holds it to the model's seq_len.
  { name: 'window', note: '0 (none) to seq_len', rules: [inRange(0, 4096)] },
];

/** The cache operands (kv_store_q's outputs, attention_q's inputs 2..7). */
export const KVQ_CACHE = [
  { name: 'K', type: 'i8 [S·kvD·kBits/8 + W·kvD]' }, { name: 'K.m', type: 'i16 [S + W, nKv]' }, { name: 'K.e', type: 'i8 [S + W, nKv]' },
  { name: 'V', type: 'i8 [S·kvD·vBits/8 + W·kvD]' }, { name: 'V.m', type: 'i16 [S + W, nKv]' }, { name: 'V.e', type: 'i8 [S + W, nKv]' },
];

/**
 * The device's proof that the six cache operands from `first` (outputs when `output`)
 * have that layout: an AssemblyScript expression over the locals nKv, hs, kBits, vBits,
 * window and S (kv_store_q's and attention_q's operand checks share it).
 */
export const kvqCacheOperands = (first: number, output: boolean): string => {
  const slot = (i: number, t: string, n: string) => `isSlot(r, ${first + i}, ${output}, ${t}, ${n})`;
  return [
    'window <= S',
    slot(0, 'I8', '((S * kvD * kBits) >> 3) + window * kvD'), slot(1, 'I16', 'rows'), slot(2, 'I8', 'rows'),
    slot(3, 'I8', '((S * kvD * vBits) >> 3) + window * kvD'), slot(4, 'I16', 'rows'), slot(5, 'I8', 'rows'),
  ].join(' &&\n  ');
};

export const kv_store_q: OpDef = {
  kind: 'kv_store_q',
  kernel: 'kv_store_q',
  inputs: [{ name: 'k', type: 'i32 [kvD]' }, { name: 'v', type: 'i32 [kvD]' }, { name: 'input', type: 'position' }],
  outputs: KVQ_CACHE,
  params: KVQ_PARAMS,
  device: {
    // scratch: a row of hs ≤ 256 int8 values, then the kernel's four int32 of (m, e).
    check: 'checkKvStoreQ', run: 'runKvStoreQ', imports: ['kvStoreQ'], scratch: KVQ_MAX_HS + 16,
    operands: `const kvD = <i64>nKv * hs, S = <i64>cfgSeqLen, rows = (S + window) * nKv;
return isSlot(r, 0, false, I32, kvD) && isSlot(r, 1, false, I32, kvD) && isInput(r, 2, ProgramInput.position) &&
  ${kvqCacheOperands(0, true)};`,
    body: `kvStoreQ(outp(r, 0), outp(r, 1), outp(r, 2), outp(r, 3), outp(r, 4), outp(r, 5), inp(r, 0), inp(r, 1),
  inPos, <i32>cfgSeqLen, nKv, hs, kBits, vBits, window, scratch, scratch + ${KVQ_MAX_HS});`,
  },
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
