// The weight-format registry (compiler/quantize/formats/): every entry's stated block layout,
// tensor list, quantizer and dequantizer agree with each other and with the artifact's
// dtype table; plans spell every format by its bits and by its name.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Rng } from '../compiler/synth/prng.ts';
import { DType, tensorBytes } from '../compiler/emit/dtype.ts';
import { dataLength, type QDType } from '../compiler/quantize/quant-model.ts';
import { WEIGHT_FORMATS, formatNamed, formatOfBits, valueBytes } from '../compiler/quantize/formats/registry.ts';
import type { WeightFormatDef } from '../compiler/quantize/formats/format.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AS_DTYPE_SIZES, FORMATS_DOC, dtypeBlocks, renderDtypeSizes, withFreshFormatsTable } from '../scripts/gen-formats.ts';
import { parsePlan, planFromJson, requested, resolveMatrix } from '../compiler/plan/plan.ts';
import { FORMATS_LIST, NO_FORMAT, literally } from './helpers/formats.ts';
import { MAX_GEMV_INPUT, lutMaxInput } from '../compiler/quantize/lowbit-format.ts';

const FORMATS = WEIGHT_FORMATS as readonly WeightFormatDef[];

function weights(seed: number, rows: number, cols: number): Float32Array {
  const rng = new Rng(seed, 'format weights');
  const w = new Float32Array(rows * cols);
  for (let i = 0; i < w.length; i++) w[i] = 0.02 * rng.gauss();
  return w;
}

const ARRAY_OF: Record<string, string> = { int8: 'Int8Array', int16: 'Int16Array', int32: 'Int32Array' };

test('every format is an artifact dtype, and its block states bits per weight exactly', () => {
  for (const f of FORMATS) {
    assert.type(DType[f.name as keyof typeof DType], 'number', `${f.name} is in schemas/edgeq.fbs enum DType`);
    assert.is(f.block.bytes * 8, f.block.rows * f.block.cols * f.bits, `${f.name}: block bytes`);
    assert.is(formatNamed(f.name), f);
    assert.is(formatOfBits(f.bits), f);
  }
});

test('maxInput: the int32 accumulator bounds (docs/integer-spec.md §5.4, §9.6)', () => {
  assert.is(MAX_GEMV_INPUT, 8260); // 8260 · 127 · 2047 < 2^31 <= 8261 · 127 · 2047
  assert.is(formatNamed('int8')!.maxInput, MAX_GEMV_INPUT);
  // A LUT format's row accumulator at its longest input fits int32 (worst case per column:
  // 2047 · Z · 255/256 plus each group's rounding), and one column more would not unless §5.4 caps it.
  const worst = (n: number, b: number) => n * (2047 * 2 * (2 ** b - 1) * 255 / 256 + 1);
  for (const f of FORMATS.filter((x) => x.groupSizes.length)) {
    assert.ok(worst(f.maxInput, f.bits) < 2 ** 31, f.name);
    assert.ok(f.maxInput === MAX_GEMV_INPUT || worst(f.maxInput + 1, f.bits) >= 2 ** 31, f.name);
  }
  // b = 7 (Z = 254): n · (2047 · 254 · 255/256 + 1) < 2^31 up to n = 4146.
  assert.is(lutMaxInput(7), 4146);
});

test('docs/formats.md: the table of formats is fresh (run npm run gen:formats), one row per format', () => {
  const doc = readFileSync(join(import.meta.dirname, '..', FORMATS_DOC), 'utf8');
  assert.ok(doc === withFreshFormatsTable(doc), `${FORMATS_DOC}: the formats table is stale: run npm run gen:formats`);
  for (const f of WEIGHT_FORMATS) assert.ok(doc.includes(`| \`${f.name}\` | ${f.bits} |`), f.name);
  // Independent worked row: a q3 tile is 16 rows x 8 columns x 3 bits = 48 bytes.
  assert.match(doc, /\| `q3` \| 3 \| [\d, ]+ \| 16 × 8 → 48 \|/);
});

test('runtime/assembly/dtype-sizes.ts (the device size rule) is fresh (run npm run gen:formats) and covers every dtype', () => {
  const have = readFileSync(join(import.meta.dirname, '..', AS_DTYPE_SIZES), 'utf8');
  assert.ok(have === renderDtypeSizes(), `${AS_DTYPE_SIZES} is stale: run npm run gen:formats`);
  for (const { dtype, block } of dtypeBlocks()) {
    assert.ok(block.bytes > 0, dtype);
    assert.match(have, new RegExp(`case DType\\.${dtype}:`), `${dtype} has a block on the device`);
  }
  // Independent worked value: a q3 tile is 16 rows x 8 columns x 3 bits = 48 bytes.
  assert.match(have, /case DType\.q3: return 48;/);
});

test('worked sizes of the values tensor (docs/integer-spec.md §5.2, §9.1)', () => {
  assert.is(valueBytes(formatNamed('int8')!, [32000, 288]), 32000 * 288);
  assert.is(tensorBytes('q4_lut', [768, 2048]), 786432); // 48 tiles x 16 rows x 4 planes x 256 bytes
  assert.is(tensorBytes('q1', [17, 32]), 2 * 16 * 1 * 4); // two tiles, the second zero-padded
  assert.is(tensorBytes('q3', [3, 13]), 16 * 3 * 2); // cols padded to whole bytes
  assert.is(tensorBytes('q2_lut', [2, 16, 64]), 32 * 2 * 8); // rows = every dim but the last
});

test('quantize -> stored tensors have the declared dtypes and sizes; dequantize reproduces the error', () => {
  for (const f of FORMATS) {
    for (const g of f.groupSizes.length ? f.groupSizes : [0]) {
      for (const [rows, cols] of [[16, 128], [37, 256], [1, 384]]) {
        const w = weights(rows * 1000 + cols + g, rows, cols);
        const q = f.quantize(w, rows, cols, g);
        const stored = f.tensors(rows, cols, g);
        assert.is(q.data.length, stored.length, `${f.name} g${g}: one data array per tensor`);
        stored.forEach((t, i) => {
          const what = `${f.name} g${g} [${rows}, ${cols}] tensor '${t.suffix}'`;
          assert.is(q.data[i].constructor.name, ARRAY_OF[t.dtype] ?? 'Uint8Array', what);
          assert.is(q.data[i].length, dataLength(t.dtype as QDType, t.shape), what);
          assert.is(q.data[i].byteLength, tensorBytes(t.dtype, t.shape), what);
        });
        assert.is(stored[0].dtype, f.name);
        // The quantizer's own error account against the error of what the bytes say.
        const dq = f.dequantize(q.data, rows, cols, g);
        let err = 0, energy = 0;
        for (let i = 0; i < w.length; i++) { err += (w[i] - dq[i]) ** 2; energy += w[i] ** 2; }
        assert.ok(Math.abs(err - q.sqError) <= 1e-6 * energy, `${f.name} g${g}: dequantized error ${err} vs reported ${q.sqError}`);
        // Fewer bits, more error; and no format is useless (SNR bound by bits).
        assert.ok(err < energy * 4 ** -(f.bits - 1.5), `${f.name} g${g}: relative error ${err / energy} too large for ${f.bits} bits`);
      }
    }
  }
});

test('plans spell a format by its bits or its name, in --plan and in plan files', () => {
  for (const f of FORMATS) {
    const g = f.groupSizes.length ? `g${f.groupSizes[0]}` : '';
    const byBits = parsePlan(`uniform:${f.bits}${g}`), byName = parsePlan(`uniform:${f.name}${g}`);
    assert.is(byName.bits, byBits.bits, f.name);
    assert.is(byName.groupSize, byBits.groupSize, f.name);
    const file = planFromJson({ edgeqPlan: 1, default: { format: f.name, ...(g ? { groupSize: f.groupSizes[0] } : {}) } }, 'p.json');
    assert.is(file.bits, f.bits, `${f.name}: plan file "format"`);
    assert.is(requested(file, 0, 'wq').format, f.name);
    assert.is(resolveMatrix(requested(file, 0, 'wq'), 1024).format, f.name);
    assert.is(resolveMatrix(requested(byName, 0, 'wq'), 1024).format, f.name);
  }
  assert.throws(() => planFromJson({ edgeqPlan: 1, default: { format: NO_FORMAT } }, 'p.json'), literally(`p.json: $.default.format: expected one of ${FORMATS_LIST}, got string "${NO_FORMAT}"`));
  assert.throws(() => planFromJson({ edgeqPlan: 1, default: { bits: 4, format: 'q3' } }, 'p.json'), /\$\.default\.format: 4-bit weights have format "q4_lut", got string "q3"/);
  assert.throws(() => parsePlan(`uniform:${NO_FORMAT}`), literally(`"${NO_FORMAT}" is not a weight format`));
});

test.run();
