// Low-bit formats and their quantizer (docs/integer-spec.md §9.1): the size rule agrees
// between the format module, the host dtype rule and the device verifier; packing is the
// stated layout; the clip search beats min/max; dequantized error per bit-width; the
// integer reference on quantized weights tracks the float product.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Rng } from '../compiler/synth/prng.ts';
import { DType, tensorBytes } from '../compiler/emit/dtype.ts';
import {
  LOWBIT_BITS, lutGroupSizes, groupBytes, packGroups, packPlanes, planeBytes, planeOffset,
  unpackGroups, unpackPlanes,
} from '../compiler/quantize/lowbit-format.ts';
import { dequantizeLowbit, quantizeLowbit } from '../compiler/quantize/lowbit.ts';
import { formatNameOfBits } from '../compiler/quantize/formats/registry.ts';
import { q4Lut } from '../compiler/quantize/formats/lut.ts';
import { gemvLut, lutTables } from '../runtime/kernels/reference/gemv_lut.ts';
import { verifier } from './helpers/artifact-fixture.ts';

function weights(seed: number, rows: number, cols: number): Float32Array {
  const rng = new Rng(seed, 'lowbit weights');
  const w = new Float32Array(rows * cols);
  for (let o = 0; o < rows; o++) {
    const rowScale = 0.01 + 0.04 * rng.uniform(), shift = (rng.uniform() - 0.5) * 0.01;
    for (let j = 0; j < cols; j++) w[o * cols + j] = shift + rowScale * rng.gauss() * (rng.uniform() < 0.02 ? 5 : 1); // heavy tail
  }
  return w;
}
const sumSq = (w: Float32Array) => w.reduce((a, x) => a + x * x, 0);

test('size rule: format module = compiler/emit/dtype.ts = device verifier, for odd shapes too', async () => {
  const v = await verifier(1024);
  const mem = () => new DataView(v.ex.memory.buffer);
  for (const bits of LOWBIT_BITS) {
    const dt = formatNameOfBits(bits);
    // G = 0 (no group size): whole 8-column blocks. Otherwise whole groups: cols padded to a
    // multiple of G (172 = stories260K's hidden size, 13: odd), written out here by hand.
    for (const [rows, cols] of [[1, 32], [15, 64], [16, 64], [17, 96], [768, 768], [2048, 768], [768, 2048], [32000, 768], [3, 13], [64, 172]]) {
      for (const gs of [0, ...lutGroupSizes(bits)]) {
        const stored = gs ? gs * Math.ceil(cols / gs) : 8 * Math.ceil(cols / 8);
        const want = Math.ceil(rows / 16) * 16 * bits * (stored / 8);
        if (gs) assert.is(planeBytes(bits, rows, cols, gs), want, `${dt} [${rows}, ${cols}] g${gs} format module`);
        assert.is(tensorBytes(dt, [rows, cols], gs), want, `${dt} [${rows}, ${cols}] g${gs} host`);
        mem().setUint32(v.ptr, rows, true); mem().setUint32(v.ptr + 4, cols, true);
        assert.is(Number(v.ex.dtypeBytes(DType[dt], v.ptr, 2, gs)), want, `${dt} [${rows}, ${cols}] g${gs} device`);
      }
    }
  }
  // stories260K's w2 at 4 bits: 64 x 172 stored as 64 x 192 (G = 32 or 64) or 64 x 256 (G = 128).
  assert.is(planeBytes(4, 64, 172, 64), 64 * 192 / 2);
  assert.is(planeBytes(4, 64, 172, 128), 64 * 256 / 2);
  assert.is(groupBytes(64, 172, 64), 4 * 3 * 32);
  // Worked values (docs/integer-spec.md §9.1): 768x2048 at 4 bits, G = 64.
  assert.is(planeBytes(4, 768, 2048, 64), 786432);
  assert.is(groupBytes(768, 2048, 64), 49152);
  assert.is(q4Lut.tensors(768, 2048, 64).reduce((a, t) => a + tensorBytes(t.dtype, t.shape), 0), 786432 + 49152 + 2304);
  assert.is(planeBytes(1, 17, 32, 32), 32 * 1 * 4); // two tiles
  assert.is(tensorBytes('uint8', [768 / 16, 2048 / 64, 2, 16]), groupBytes(768, 2048, 64));
});

test('packing: the stated layout, nibbles are table indices, round trip', () => {
  const rng = new Rng(1, 'pack');
  for (const bits of LOWBIT_BITS) for (const gs of lutGroupSizes(bits)) {
    const rows = 21, cols = 2 * gs;
    const codes = new Uint8Array(rows * cols).map(() => rng.next() & ((1 << bits) - 1));
    const planes = packPlanes(codes, bits, rows, cols, gs);
    assert.equal(unpackPlanes(planes, bits, rows, cols, gs), codes);
    // byte (tile, group, plane, pair, row) at ((((tile*ng + g)*bits + k)*pairs + p)*16 + r)
    const o = 19, g = 1, k = bits - 1, p = Math.min(2, gs / 8 - 1);
    const off = ((((1 * 2 + g) * bits + k) * (gs / 8) + p) * 16) + 3;
    assert.is(planeOffset(bits, cols, gs, o, k, g * gs + 8 * p), off);
    let lo = 0, hi = 0;
    for (let i = 0; i < 4; i++) {
      lo |= ((codes[o * cols + g * gs + 8 * p + i] >> k) & 1) << i;
      hi |= ((codes[o * cols + g * gs + 8 * p + 4 + i] >> k) & 1) << i;
    }
    assert.is(planes[off], lo | (hi << 4));
    // padding rows of the last tile are zero
    for (let r = rows; r < 32; r++) assert.is(planes[planeOffset(bits, cols, gs, r, 0, 0)], 0);
    const gm = new Uint8Array(rows * 2).map(() => rng.next() & 255), z2 = new Uint8Array(rows * 2).map(() => rng.next() & 7);
    assert.equal(unpackGroups(packGroups(gm, z2, rows, cols, gs), rows, cols, gs), { gm, z2 });
  }
});

test('clip search beats min/max on average, at every bit-width and group size', () => {
  const rows = 32, cols = 256, w = weights(2, rows, cols);
  for (const bits of LOWBIT_BITS) for (const gs of lutGroupSizes(bits)) {
    const clip = quantizeLowbit(w, rows, cols, { bits, groupSize: gs });
    const minmax = quantizeLowbit(w, rows, cols, { bits, groupSize: gs, clip: false });
    assert.ok(clip.sqError < minmax.sqError, `b${bits} g${gs}: ${clip.sqError} vs ${minmax.sqError}`);
  }
  // per group it can never be worse: min/max (c = 1) is one of the candidates
  const one = quantizeLowbit(w.subarray(0, 64), 1, 64, { bits: 2, groupSize: 64 });
  const base = quantizeLowbit(w.subarray(0, 64), 1, 64, { bits: 2, groupSize: 64, clip: false });
  assert.ok(one.sqError <= base.sqError);
});

test('dequantized vs float: relative RMS error per bit-width (G = 64), and sqError is exact', () => {
  const rows = 48, cols = 512, w = weights(3, rows, cols), ss = sumSq(w);
  const limit: Record<number, number> = { 4: 0.12, 3: 0.23, 2: 0.42, 1: 0.72 };
  let prev = 0;
  for (const bits of [4, 3, 2, 1] as const) {
    const m = quantizeLowbit(w, rows, cols, { bits, groupSize: 64 });
    const dq = dequantizeLowbit(m);
    let e = 0;
    for (let i = 0; i < w.length; i++) e += (w[i] - dq[i]) ** 2;
    assert.ok(Math.abs(e - m.sqError) <= 1e-6 * m.sqError, 'sqError');
    const rel = Math.sqrt(e / ss);
    assert.ok(rel < limit[bits], `b${bits}: relative RMS error ${rel.toFixed(4)} >= ${limit[bits]}`);
    assert.ok(rel > prev, 'fewer bits, more error');
    prev = rel;
    // every stored group field is in range
    assert.ok(m.scaleE.every((e) => e >= 14));
  }
});

test('the integer reference on quantized weights tracks the float product of the dequantized weights (whole and padded groups)', () => {
  const rng = new Rng(5, 'x');
  for (const cols of [256, 172]) for (const bits of LOWBIT_BITS) for (const gs of cols === 256 ? [lutGroupSizes(bits)[0]] : lutGroupSizes(bits)) {
    const rows = 40, w = weights(4, rows, cols);
    const m = quantizeLowbit(w, rows, cols, { bits, groupSize: gs });
    const dq = dequantizeLowbit(m);
    const x = new Int16Array(cols).map(() => Math.round((rng.uniform() * 2 - 1) * 2047));
    const xM = 20000, xE = 24; // activation scale ≈ 0.0012
    const nPad = gs * Math.ceil(cols / gs), t = new Int16Array(4 * nPad), out = new Int32Array(rows);
    lutTables(t, x, cols, nPad);
    gemvLut(out, m.planes, m.groups, m.scaleM, m.scaleE, t, xM, xE, nPad, rows, bits, gs, 16);
    let maxErr = 0, maxAbs = 0;
    for (let o = 0; o < rows; o++) {
      let y = 0;
      for (let j = 0; j < cols; j++) y += dq[o * cols + j] * x[j] * xM * 2 ** -xE;
      maxErr = Math.max(maxErr, Math.abs(out[o] / 65536 - y));
      maxAbs = Math.max(maxAbs, Math.abs(y));
    }
    // only the per-group rounding (R = 8) and the final rounding separate them
    assert.ok(maxErr < 1e-3 * maxAbs + 4 / 65536, `b${bits} g${gs} cols ${cols}: ${maxErr} vs ${maxAbs}`);
  }
});

test('a partial last group: fitted on its real columns, error like a whole group, sqError exact, packing round trip', () => {
  // 172 columns = 2 whole groups of 64 and one of 44. The partial group's weights are scaled
  // 10x down: fitted on its own columns its error stays small relative to them (were it
  // fitted to a range it does not have, or were its codes shifted, it would not).
  const rows = 32, cols = 172, w = weights(6, rows, cols);
  for (let o = 0; o < rows; o++) for (let j = 128; j < cols; j++) w[o * cols + j] *= 0.1;
  for (const bits of [4, 2] as const) {
    const m = quantizeLowbit(w, rows, cols, { bits, groupSize: 64 });
    const dq = dequantizeLowbit(m);
    let e = 0, eTail = 0, sTail = 0, eHead = 0, sHead = 0;
    for (let o = 0; o < rows; o++) for (let j = 0; j < cols; j++) {
      const d = (w[o * cols + j] - dq[o * cols + j]) ** 2;
      e += d;
      if (j >= 128) { eTail += d; sTail += w[o * cols + j] ** 2; } else { eHead += d; sHead += w[o * cols + j] ** 2; }
    }
    assert.ok(Math.abs(e - m.sqError) <= 1e-6 * m.sqError, 'sqError');
    const relTail = Math.sqrt(eTail / sTail), relHead = Math.sqrt(eHead / sHead);
    assert.ok(relTail < 1.5 * relHead, `b${bits}: the partial group's relative error ${relTail.toFixed(4)} vs whole groups' ${relHead.toFixed(4)}`);
    // The stored bytes: whole groups, pad codes 0; the codes round-trip.
    assert.is(m.planes.length, 2 * 16 * bits * (192 / 8));
    const codes = unpackPlanes(m.planes, bits, rows, 192, 64);
    const real = unpackPlanes(m.planes, bits, rows, cols, 64);
    for (let o = 0; o < rows; o++) for (let j = 0; j < 192; j++) assert.is(codes[o * 192 + j], j < cols ? real[o * cols + j] : 0);
    assert.equal(packPlanes(real, bits, rows, cols, 64), m.planes);
  }
});

test.run();
