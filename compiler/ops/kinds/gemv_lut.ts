// gemv_lut: the low-bit GEMV over bit planes and group scales, reading lut_tables' tables
// (docs/integer-spec.md §9).
import { gemvLut } from '../../../runtime/kernels/reference/gemv_lut.ts';
import { inRange, oneOf, positive, type OpDef } from '../op-def.ts';
import { GROUPED_FORMATS } from '../../quantize/formats/registry.ts';
import { lutGroupFits } from '../../quantize/lowbit-format.ts';

export const gemv_lut: OpDef = {
  kind: 'gemv_lut',
  kernel: 'gemv_lut',
  inputs: [
    { name: 'T', type: 'i16 [4n] (`lut_tables` of x)' }, { name: 'scale of x', type: '' }, { name: 'X', type: 'q<b> [d, n]' },
    { name: 'X.groups', type: 'uint8 [⌈d/16⌉, n/G, 2, 16]' }, { name: 'X.scale_m', type: 'i16 [d]' }, { name: 'X.scale_e', type: 'i8 [d]' },
  ],
  outputs: [{ name: 'y', type: 'i32 [d]' }],
  params: [
    { name: 'n', check: (v) => (positive(v) ?? (v <= 8260 ? null : 'must be <= 8260')) },
    { name: 'd', check: positive },
    { name: 'outFrac', note: '(16; `LOGIT_FRAC` for a low-bit classifier)', check: inRange(0, 30) },
    { name: 'bits', note: 'b (1..6, = X\'s dtype)', check: inRange(1, 6) },
    { name: 'G', note: '(32/64/128, b = 5: 32/64, b = 6: 32; n % G = 0, n/G ≤ 1024, n ≤ 8260)',
      check: (v, p) => oneOf(32, 64, 128)(v) ?? (lutGroupFits(p.bits, v) ? null : `is too large for ${p.bits}-bit codes (spec §9.3)`) ??
        (p.n % v === 0 && p.n / v <= 1024 ? null : 'must divide n with n/G <= 1024') },
  ],
  device: { check: 'checkGemvLut', run: 'runGemvLut', simdRun: 'runGemvLutSimd' },
  interpret: (o) => {
    o.counts(6, 1, 5);
    const [n, d, outFrac, bits, gs] = o.op.params;
    const planeType = GROUPED_FORMATS.find((f) => f.bits === bits)?.name;
    if (planeType === undefined) return o.fail(`${bits} bits, expected 1 to 6`);
    const t = o.in<Int16Array>(0, 'int16'), sc = o.in<Int32Array>(1, 'int32');
    const planes = o.in<Uint8Array>(2, planeType), groups = o.in<Uint8Array>(3, 'uint8');
    const wM = o.in<Int16Array>(4, 'int16'), wE = o.in<Int8Array>(5, 'int8');
    const y = o.out<Int32Array>(0, 'int32');
    return () => gemvLut(y, planes, groups, wM, wE, t, sc[0], sc[1], n, d, bits, gs, outFrac);
  },
};
