// hadamard: the integer Walsh–Hadamard transform of each head of an int32 vector, in place
// (docs/integer-spec.md §3.7.2): a rotated quantized KV cache (`--kv ...,rot`) applies it
// to q and k after RoPE, so K is quantized in the rotated basis.
import { hadamard as hadamardKernel } from '../../../runtime/kernels/reference/hadamard.ts';
import type { OpDef } from '../op-def.ts';
import { atMost, multipleOf, positive, powerOfTwo } from '../param-rules.ts';
import { KVQ_MAX_HS } from './kv_store_q.ts';

export const hadamard: OpDef = {
  kind: 'hadamard',
  kernel: 'hadamard',
  inputs: [{ name: 'v', type: 'i32 [n]' }],
  outputs: [{ name: 'v', type: '(same slot)' }],
  params: [
    { name: 'n', rules: [positive, multipleOf('hs')] },
    // The heads of the quantized cache (≤ 256): the butterflies' growth, hs·max|v|, is bounded by it (§3.7.2).
    { name: 'hs', note: `a power of two ≤ ${KVQ_MAX_HS}`, rules: [powerOfTwo, atMost(KVQ_MAX_HS)] },
  ],
  device: {
    check: 'checkHadamard', run: 'runHadamard', imports: ['hadamard'],
    operands: 'return isSlot(r, 0, false, I32, n) && sameSlot(r, 0, 0);',
    body: 'hadamard(inp(r, 0), n, hs);',
  },
  interpret: (o) => {
    o.counts(1, 1, 2);
    const v = o.in<Int32Array>(0, 'int32');
    o.out(0, 'int32'); // the same slot as input 0 (checked by the runtime)
    const n = o.p(0), hs = o.p(1);
    return () => hadamardKernel(v, n, hs);
  },
};
