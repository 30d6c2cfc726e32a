// gemv_lut: the low-bit GEMV over bit planes and group scales, reading lut_tables' tables
// (docs/integer-spec.md §9). n is the stored (padded) column count: whole groups
// (compiler/quantize/lowbit-format.ts paddedCols), the tables' nPad.
import { gemvLut } from '../../../runtime/kernels/reference/gemv_lut.ts';
import type { OpDef } from '../op-def.ts';
import {
  dividesWithQuotientAtMost, groupSizeOfFormat, groupedFormatBits, inRange, inputLimitOfFormat, positive,
} from '../param-rules.ts';
import { ALL_GROUP_SIZES, GROUPED_FORMATS } from '../../quantize/formats/registry.ts';

// The same call with either flavour's gemvLut.
const run = `const sc = inp(r, 1);
gemvLut(outp(r, 0), inp(r, 2), inp(r, 3), inp(r, 4), inp(r, 5), inp(r, 0), load<i32>(sc), load<i32>(sc, 4),
  n, d, bits, G, outFrac);`;

// Rows [lo, hi), lo a multiple of 16: whole tiles of 16 rows, each 16 n bits / 8 = 2 n bits
// bytes of planes and n / G * 32 bytes of groups (the tiled layout, lowbit-format.ts).
const rows = `const sc = inp(r, 1), tile = <usize>(lo >> 4);
gemvLut(outp(r, 0) + (<usize>lo << 2), inp(r, 2) + tile * (<usize>(n * bits) << 1), inp(r, 3) + tile * (<usize>(n / G) << 5),
  inp(r, 4) + (<usize>lo << 1), inp(r, 5) + <usize>lo, inp(r, 0), load<i32>(sc), load<i32>(sc, 4), n, hi - lo, bits, G, outFrac);`;

export const gemv_lut: OpDef = {
  kind: 'gemv_lut',
  kernel: 'gemv_lut',
  inputs: [
    { name: 'T', type: 'i16 [4n] (`lut_tables` of x, nPad = n)' }, { name: 'scale of x', type: '' }, { name: 'X', type: 'q<b> [d, cols], cols padded to n' },
    { name: 'X.groups', type: 'uint8 [⌈d/16⌉, n/G, 2, 16]' }, { name: 'X.scale_m', type: 'i16 [d]' }, { name: 'X.scale_e', type: 'i8 [d]' },
  ],
  outputs: [{ name: 'y', type: 'i32 [d]' }],
  params: [
    { name: 'n', rules: [positive, inputLimitOfFormat('bits')] },
    { name: 'd', rules: [positive] },
    { name: 'outFrac', note: '(16; `LOGIT_FRAC` for a low-bit classifier)', rules: [inRange(0, 30)] },
    // bits names a grouped weight format, G is one of that format's group sizes: both
    // come from the weight-format registry (a new format is admitted by registering it).
    { name: 'bits', note: `b (${GROUPED_FORMATS.map((f) => f.bits).join(', ')}, = X's dtype)`, rules: [groupedFormatBits] },
    { name: 'G', note: `(${ALL_GROUP_SIZES.join('/')}, by format; n % G = 0, n/G ≤ 1024, n ≤ ${[...new Set(GROUPED_FORMATS.map((f) => f.maxInput))].join('/')})`, rules: [groupSizeOfFormat('bits'), dividesWithQuotientAtMost('n', 1024)] },
  ],
  device: {
    check: 'checkGemvLut', run: 'runGemvLut', simdRun: 'runGemvLutSimd', imports: ['gemvLut'],
    // The values tensor's bytes by its format's block rule (dtype-sizes.ts, generated from
    // the format registry).
    operands: `const dt = groupedFormatDType(bits), tiles = <i64>((d + 15) >> 4);
return isSlot(r, 0, false, I16, <i64>n << 2) && isSlot(r, 1, false, I32, SCALE_ELEMS) &&
  isTensorBytes(r, 2, dt, matrixBytes(dt, d, n, G)) && isTensorBytes(r, 3, U8, tiles * (n / G) * 32) &&
  isTensor(r, 4, I16, d) && isTensor(r, 5, I8, d) && isSlot(r, 0, true, I32, d);`,
    body: run,
    simdBody: run,
    rows: { align: 16, count: 'd', body: rows },
  },
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
