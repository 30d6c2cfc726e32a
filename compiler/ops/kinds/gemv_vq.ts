// gemv_vq: the GEMV over vq2 codes (pairs of weights as 5-bit codes into the matrix's 32 x 2
// int8 codebook, one matrix scale; docs/integer-spec.md §9.7). Reads the 12-bit x directly:
// the per-pair tables of the scalar kernel are its own scratch, not an op's output.
import { gemvVq } from '../../../runtime/kernels/reference/gemv_vq.ts';
import type { OpDef } from '../op-def.ts';
import { atMost, inRange, multipleOf, positive } from '../param-rules.ts';
import { vq2Format } from '../../quantize/formats/vq2.ts';

// The same call with either flavour's gemvVq.
const run = `const sc = inp(r, 1);
gemvVq(outp(r, 0), inp(r, 2), inp(r, 3), <i32>load<i16>(inp(r, 4)), <i32>load<i8>(inp(r, 5)), inp(r, 0), load<i32>(sc), load<i32>(sc, 4),
  n, d, outFrac);`;

// Rows [lo, hi), lo a multiple of 16: whole tiles, each n / 16 * 80 = 5n bytes of codes.
const rows = `const sc = inp(r, 1);
gemvVq(outp(r, 0) + (<usize>lo << 2), inp(r, 2) + <usize>(lo >> 4) * <usize>n * 5, inp(r, 3), <i32>load<i16>(inp(r, 4)), <i32>load<i8>(inp(r, 5)),
  inp(r, 0), load<i32>(sc), load<i32>(sc, 4), n, hi - lo, outFrac);`;

export const gemv_vq: OpDef = {
  kind: 'gemv_vq',
  kernel: 'gemv_vq',
  inputs: [
    { name: 'x', type: 'i16 [n]' }, { name: 'scale of x', type: '' }, { name: 'X', type: 'vq2 [d, n]' },
    { name: 'X.codebook', type: 'i8 [32, 2]' }, { name: 'X.scale_m', type: 'i16 [1]' }, { name: 'X.scale_e', type: 'i8 [1]' },
  ],
  outputs: [{ name: 'y', type: 'i32 [d]' }],
  params: [
    { name: 'n', note: `(a multiple of ${vq2Format.block.cols})`, rules: [positive, multipleOf(vq2Format.block.cols), atMost(vq2Format.maxInput)] },
    { name: 'd', rules: [positive] },
    { name: 'outFrac', note: '(16; `LOGIT_FRAC` for a vq2 classifier)', rules: [inRange(0, 30)] },
  ],
  device: {
    check: 'checkGemvVq', run: 'runGemvVq', simdRun: 'runGemvVqSimd', imports: ['gemvVq'],
    // The codes' bytes by the vq2 block rule (dtype-sizes.ts, generated from the format registry).
    operands: `return isSlot(r, 0, false, I16, n) && isSlot(r, 1, false, I32, SCALE_ELEMS) &&
  isTensorBytes(r, 2, DType.vq2, matrixBytes(DType.vq2, d, n, 0)) && isTensor(r, 3, I8, 64) &&
  isTensor(r, 4, I16, 1) && isTensor(r, 5, I8, 1) && isSlot(r, 0, true, I32, d);`,
    body: run,
    simdBody: run,
    rows: { align: 16, count: 'd', body: rows },
  },
  interpret: (o) => {
    o.counts(6, 1, 3);
    const [n, d, outFrac] = o.op.params;
    const x = o.in<Int16Array>(0, 'int16'), sc = o.in<Int32Array>(1, 'int32');
    const codes = o.in<Uint8Array>(2, 'vq2'), codebook = o.in<Int8Array>(3, 'int8');
    const wM = o.in<Int16Array>(4, 'int16'), wE = o.in<Int8Array>(5, 'int8');
    const y = o.out<Int32Array>(0, 'int32');
    return () => gemvVq(y, codes, codebook, wM[0], wE[0], x, sc[0], sc[1], n, d, outFrac);
  },
};
