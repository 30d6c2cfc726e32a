// gemv and classifier: int8 GEMV with int32 accumulation (docs/integer-spec.md §3.4,
// §3.10); the classifier is the same op writing LOGIT_FRAC logits.
import { gemvQ8 } from '../../../runtime/kernels/reference/gemv_q8.ts';
import type { Interpret, OpDef } from '../op-def.ts';
import { inRange, positive } from '../param-rules.ts';

// Scale operands are int32 [4] slots holding (m, e) in elements 0, 1.
const interpret: Interpret = (o) => {
  o.counts(5, 1, 3);
  const x = o.in<Int16Array>(0, 'int16'), sc = o.in<Int32Array>(1, 'int32');
  const w = o.in<Int8Array>(2, 'int8'), wM = o.in<Int16Array>(3, 'int16'), wE = o.in<Int8Array>(4, 'int8');
  const y = o.out<Int32Array>(0, 'int32');
  const n = o.p(0), d = o.p(1), outFrac = o.p(2);
  return () => gemvQ8(y, w, wM, wE, x, sc[0], sc[1], n, d, outFrac);
};

// The same call with either flavour's gemvQ8.
const run = `const sc = inp(r, 1);
gemvQ8(outp(r, 0), inp(r, 2), inp(r, 3), inp(r, 4), inp(r, 0), load<i32>(sc), load<i32>(sc, 4), n, d, outFrac);`;

// Rows [lo, hi): the row-major W, its row scales and y from row lo, hi - lo rows.
const rows = `const sc = inp(r, 1);
gemvQ8(outp(r, 0) + (<usize>lo << 2), inp(r, 2) + <usize>lo * <usize>n, inp(r, 3) + (<usize>lo << 1), inp(r, 4) + <usize>lo,
  inp(r, 0), load<i32>(sc), load<i32>(sc, 4), n, hi - lo, outFrac);`;

export const gemv: OpDef = {
  kind: 'gemv',
  kernel: 'gemv_q8',
  inputs: [
    { name: 'x', type: 'i16 [n]' }, { name: 'scale', type: '' }, { name: 'W', type: 'i8 [d, n]' },
    { name: 'W.scale_m', type: 'i16 [d]' }, { name: 'W.scale_e', type: 'i8 [d]' },
  ],
  outputs: [{ name: 'y', type: 'i32 [d]' }],
  params: [
    { name: 'n', rules: [positive] }, { name: 'd', rules: [positive] },
    { name: 'outFrac', note: '(16; `LOGIT_FRAC` for the classifier)', rules: [inRange(0, 30)] },
  ],
  device: {
    check: 'checkGemv', run: 'runGemv', simdRun: 'runGemvSimd', imports: ['gemvQ8'],
    operands: `isSlot(r, 0, false, I16, n) && isSlot(r, 1, false, I32, SCALE_ELEMS) && isTensor(r, 2, I8, <i64>n * d) &&
  isTensor(r, 3, I16, d) && isTensor(r, 4, I8, d) && isSlot(r, 0, true, I32, d)`,
    body: run,
    simdBody: run,
    rows: { align: 1, count: 'd', body: rows },
  },
  interpret,
};

export const classifier: OpDef = { ...gemv, kind: 'classifier' };
