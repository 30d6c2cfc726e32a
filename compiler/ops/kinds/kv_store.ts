// kv_store: this position's K (12 bits) and V (int8) rows of one layer's cache, one scale
// per kv head (docs/integer-spec.md §3.7, first paragraph).
import { kvStore } from '../../../runtime/kernels/reference/kv_store.ts';
import type { OpDef } from '../op-def.ts';
import { positive } from '../param-rules.ts';

export const kv_store: OpDef = {
  kind: 'kv_store',
  kernel: 'kv_store',
  inputs: [{ name: 'k', type: 'i32 [kvD]' }, { name: 'v', type: 'i32 [kvD]' }, { name: 'input', type: 'position' }],
  outputs: [
    { name: 'K', type: 'i16 [S, kvD]' }, { name: 'K.m', type: 'i16 [S, nKv]' }, { name: 'K.e', type: 'i8 [S, nKv]' },
    { name: 'V', type: 'i8 [S, kvD]' }, { name: 'V.m', type: 'i16 [S, nKv]' }, { name: 'V.e', type: 'i8 [S, nKv]' },
  ],
  params: [{ name: 'nKv', rules: [positive] }, { name: 'hs', rules: [positive] }],
  device: {
    check: 'checkKvStore', run: 'runKvStore', imports: ['kvStore'], scratch: 16,
    operands: `const kvD = <i64>nKv * hs, S = <i64>cfgSeqLen;
return isSlot(r, 0, false, I32, kvD) && isSlot(r, 1, false, I32, kvD) && isInput(r, 2, ProgramInput.position) &&
  isSlot(r, 0, true, I16, S * kvD) && isSlot(r, 1, true, I16, S * nKv) && isSlot(r, 2, true, I8, S * nKv) &&
  isSlot(r, 3, true, I8, S * kvD) && isSlot(r, 4, true, I16, S * nKv) && isSlot(r, 5, true, I8, S * nKv);`,
    body: 'kvStore(outp(r, 0), outp(r, 1), outp(r, 2), outp(r, 3), outp(r, 4), outp(r, 5), inp(r, 0), inp(r, 1), inPos, nKv, hs, scratch);',
  },
  interpret: (o, step) => {
    o.counts(3, 6, 2);
    const k = o.in<Int32Array>(0, 'int32'), v = o.in<Int32Array>(1, 'int32');
    o.input(2, 'position');
    const kc = o.out<Int16Array>(0, 'int16'), kM = o.out<Int16Array>(1, 'int16'), kE = o.out<Int8Array>(2, 'int8');
    const vc = o.out<Int8Array>(3, 'int8'), vM = o.out<Int16Array>(4, 'int16'), vE = o.out<Int8Array>(5, 'int8');
    const nKv = o.p(0), hs = o.p(1);
    const sc = new Int32Array(4);
    return () => kvStore(kc, kM, kE, vc, vM, vE, k, v, step.position, nKv, hs, sc);
  },
};
