// embed: the token's row of the int8 embedding, dequantized to Q16 (docs/integer-spec.md §3.1).
import { embeddingLookup } from '../../../runtime/kernels/reference/embedding.ts';
import type { OpDef } from '../op-def.ts';
import { positive } from '../param-rules.ts';

export const embed: OpDef = {
  kind: 'embed',
  kernel: 'embedding',
  inputs: [
    { name: 'E', type: 'i8 [V, D]' }, { name: 'E.scale_m', type: 'i16 [V]' }, { name: 'E.scale_e', type: 'i8 [V]' },
    { name: 'input', type: 'token' },
  ],
  outputs: [{ name: 'x', type: 'i32 [D]' }],
  params: [{ name: 'D', rules: [positive] }],
  device: {
    check: 'checkEmbed', run: 'runEmbed', imports: ['embeddingLookup'],
    operands: `isTensor(r, 0, I8, <i64>cfgVocab * D) && isTensor(r, 1, I16, cfgVocab) && isTensor(r, 2, I8, cfgVocab) &&
  isInput(r, 3, ProgramInput.token) && isSlot(r, 0, true, I32, D)`,
    body: 'embeddingLookup(outp(r, 0), inp(r, 0), inp(r, 1), inp(r, 2), inToken, D);',
  },
  interpret: (o, step) => {
    o.counts(4, 1, 1);
    const e = o.in<Int8Array>(0, 'int8'), m = o.in<Int16Array>(1, 'int16'), ex = o.in<Int8Array>(2, 'int8');
    o.input(3, 'token');
    const x = o.out<Int32Array>(0, 'int32'), d = o.p(0);
    return () => embeddingLookup(x, e, m, ex, step.token, d);
  },
};
