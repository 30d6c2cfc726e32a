// gemv and classifier: int8 GEMV with int32 accumulation (docs/integer-spec.md §3.4,
// §3.10); the classifier is the same op writing LOGIT_FRAC logits.
import { gemvQ8 } from '../../../runtime/kernels/reference/gemv_q8.ts';
import { inRange, positive, type Interpret, type OpDef } from '../op-def.ts';

// Scale operands are int32 [4] slots holding (m, e) in elements 0, 1.
const interpret: Interpret = (o) => {
  o.counts(5, 1, 3);
  const x = o.in<Int16Array>(0, 'int16'), sc = o.in<Int32Array>(1, 'int32');
  const w = o.in<Int8Array>(2, 'int8'), wM = o.in<Int16Array>(3, 'int16'), wE = o.in<Int8Array>(4, 'int8');
  const y = o.out<Int32Array>(0, 'int32');
  const n = o.p(0), d = o.p(1), outFrac = o.p(2);
  return () => gemvQ8(y, w, wM, wE, x, sc[0], sc[1], n, d, outFrac);
};

export const gemv: OpDef = {
  kind: 'gemv',
  kernel: 'gemv_q8',
  inputs: [
    { name: 'x', type: 'i16 [n]' }, { name: 'scale', type: '' }, { name: 'W', type: 'i8 [d, n]' },
    { name: 'W.scale_m', type: 'i16 [d]' }, { name: 'W.scale_e', type: 'i8 [d]' },
  ],
  outputs: [{ name: 'y', type: 'i32 [d]' }],
  params: [
    { name: 'n', check: positive }, { name: 'd', check: positive },
    { name: 'outFrac', note: '(16; `LOGIT_FRAC` for the classifier)', check: inRange(0, 30) },
  ],
  device: { check: 'checkGemv', run: 'runGemv', simdRun: 'runGemvSimd' },
  interpret,
};

export const classifier: OpDef = { ...gemv, kind: 'classifier' };
