// GSE group-shared-exponent integers (docs/integer-spec.md §12): the integer reference
// against independent float64 computations (quantization error, stochastic rounding's
// mean, matrix products within the stated bounds), the exponent rule's edge cases, the
// layout module, and the AssemblyScript port byte for byte on seeded random cases.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Rng } from '../compiler/synth/prng.ts';
import { compileAssemblyScript } from '../compiler/codegen/asc.ts';
import { assertNoFloats } from '../compiler/codegen/float-check.ts';
import {
  GSE_DEFAULT_G, GSE_DEFAULT_M, GSE_GROUP_SIZES, GSE_GUARD_BITS, GSE_MANTISSA_BITS,
  gseQuantize, gseQuantizeInto, gseDequantizeToFixed, gseMatVec, gseMatVecT, gseShiftOf, gseQmax,
} from '../runtime/kernels/reference/gse.ts';
import { Xorshift64Star } from '../runtime/kernels/reference/rng.ts';
import * as fmt from '../compiler/quantize/gse-format.ts';
import { place } from './helpers/wasm-place.ts';

const I32_MAX = 0x7fffffff;
const int = (rng: Rng, lo: number, hi: number) => lo + (rng.next() % (hi - lo + 1));
const pow2 = (k: number) => Math.pow(2, k);

/** Random int32 fixed-point values whose magnitudes span several octaves per group. */
function randomFixed(rng: Rng, n: number, maxBits = 31): Int32Array {
  const x = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const bits = int(rng, 0, maxBits);
    const v = bits === 31 ? rng.next() >>> 1 : rng.next() & ((1 << bits) - 1 >>> 0);
    x[i] = rng.next() & 1 ? -v : v;
  }
  return x;
}

/** A random GSE tensor (mantissas and exponents drawn directly). */
function randomGse(rng: Rng, n: number, G: number, M: number, eLo: number, eHi: number) {
  const q = gseQmax(M), m = new Int8Array(n), e = new Int8Array(n / G);
  for (let i = 0; i < n; i++) m[i] = int(rng, -q, q);
  for (let i = 0; i < e.length; i++) e[i] = int(rng, eLo, eHi);
  return { m, e };
}

test('layout: the format module, the reference and the spec agree', () => {
  assert.equal([...fmt.GSE_GROUP_SIZES], [...GSE_GROUP_SIZES]);
  assert.equal([...fmt.GSE_MANTISSA_BITS], [...GSE_MANTISSA_BITS]);
  assert.is(fmt.GSE_DEFAULT_G, GSE_DEFAULT_G);
  assert.is(fmt.GSE_DEFAULT_M, GSE_DEFAULT_M);
  assert.is(fmt.GSE_GUARD_BITS, GSE_GUARD_BITS);
  const rng = new Rng(1, 'layout');
  for (const [rows, cols, G] of [[1, 32, 32], [3, 64, 16], [7, 256, 128], [5, 96, 32]]) {
    const x = randomFixed(rng, rows * cols);
    const t = gseQuantize(x, 16, G, 8, 'nearest');
    assert.is(t.m.length, fmt.gseMantissaBytes(rows, cols));
    assert.is(t.e.length, fmt.gseExponentBytes(rows, cols, G));
    assert.is(fmt.gseTensorBytes(rows, cols, G), rows * cols + rows * cols / G);
    const packed = fmt.packGse(t.m, t.e, rows, cols, G);
    assert.is(packed.length, fmt.gseTensorBytes(rows, cols, G));
    const back = fmt.unpackGse(packed, rows, cols, G);
    assert.equal([...back.m], [...t.m]);
    assert.equal([...back.e], [...t.e]);
    const o = rows - 1, j = cols - 1, at = fmt.gseOffsets(rows, cols, G, o, j);
    assert.is((packed[at.m] << 24) >> 24, t.m[o * cols + j]);
    assert.is((packed[at.e] << 24) >> 24, t.e[o * (cols / G) + Math.floor(j / G)]);
  }
  assert.is(fmt.gseTensorBytes(4096, 4096, 32), 4096 * 4096 * 33 / 32);
  assert.throws(() => fmt.gseTensorBytes(2, 48, 32), /multiple of the group size/);
  assert.throws(() => fmt.checkGseShape(2, 64, 24), /group size/);
  assert.throws(() => fmt.checkGseShape(2, 64, 32, 9), /mantissa bits/);
  assert.throws(() => gseQuantize(new Int32Array(48), 16, 32, 8, 'nearest'), /multiple/);
  assert.throws(() => gseQuantize(new Int32Array(32), 16, 32, 8, 'stochastic'), /rng/);
});

test('exponent choice: zeros, maximal magnitudes, -2^31, negatives, smallest e', () => {
  for (const M of GSE_MANTISSA_BITS) {
    const q = gseQmax(M);
    // All zeros: e = 0, stored exponent -frac, mantissas 0.
    let t = gseQuantize(new Int32Array(32), 12, 32, M, 'nearest');
    assert.is(t.e[0], -12);
    assert.ok(t.m.every((v) => v === 0));
    // Largest magnitudes: e = 31 - (M - 1), the top mantissa saturates at qmax.
    const big = new Int32Array(32).fill(I32_MAX);
    big[1] = -I32_MAX; big[2] = -2147483648; big[3] = 0;
    t = gseQuantize(big, 0, 32, M, 'nearest');
    assert.is(t.e[0], 32 - M);
    assert.equal([t.m[0], t.m[1], t.m[2], t.m[3]], [q, -q, -q, 0]);
    // Values that fit M - 1 bits are exact (e = 0).
    const small = new Int32Array(16);
    for (let i = 0; i < 16; i++) small[i] = (i & 1 ? -1 : 1) * Math.min(q, i * 5);
    t = gseQuantize(small, 7, 16, M, 'nearest');
    assert.is(t.e[0], -7);
    assert.equal([...t.m], [...small]);
    // amax = qmax + 1 needs e = 1.
    small[5] = q + 1;
    t = gseQuantize(small, 7, 16, M, 'nearest');
    assert.is(t.e[0], 1 - 7);
  }
  // Smallest e: amax >> e fits, amax >> (e - 1) does not; and symmetry quantize(-x) = -quantize(x).
  const rng = new Rng(2, 'exp');
  for (let k = 0; k < 2000; k++) {
    const M = GSE_MANTISSA_BITS[k & 3], q = gseQmax(M);
    const x = randomFixed(rng, 16, int(rng, 0, 31));
    let amax = 0;
    for (const v of x) amax = Math.max(amax, Math.abs(v));
    const e = gseShiftOf(amax, M);
    assert.ok(Math.floor(amax / pow2(e)) <= q);
    if (e > 0) assert.ok(Math.floor(amax / pow2(e - 1)) > q);
    const t = gseQuantize(x, 5, 16, M, 'nearest');
    assert.is(t.e[0], e - 5);
    const neg = gseQuantize(x.map((v) => -v), 5, 16, M, 'nearest');
    assert.equal([...neg.m], [...t.m].map((v) => -v || 0));
    assert.equal([...neg.e], [...t.e]);
  }
});

test('quantize / dequantize error vs float64: <= 2^(E-1) (nearest, unsaturated), < 2^E (stochastic, saturated)', () => {
  const rng = new Rng(3, 'err');
  for (const M of GSE_MANTISSA_BITS) for (const G of GSE_GROUP_SIZES) for (const frac of [0, 10, 16, 30]) {
    const n = G * 8, x = randomFixed(rng, n, int(rng, 8, 31));
    const q = gseQmax(M);
    for (const rounding of ['nearest', 'stochastic'] as const) {
      const t = gseQuantize(x, frac, G, M, rounding, new Xorshift64Star(rng.next() | 1, 7));
      const deq = gseDequantizeToFixed(t.m, t.e, n, G, frac);
      for (let i = 0; i < n; i++) {
        const E = t.e[Math.floor(i / G)], real = x[i] / pow2(frac), val = t.m[i] * pow2(E);
        const err = Math.abs(real - val), ulp = pow2(E);
        assert.ok(Math.abs(t.m[i]) <= q);
        const saturated = Math.abs(x[i]) / pow2(E + frac) >= q + 0.5;
        if (rounding === 'nearest' && !saturated) assert.ok(err <= ulp / 2, `nearest M${M} G${G}: ${x[i]} -> ${t.m[i]}*2^${E}`);
        else assert.ok(err < ulp, `${rounding} M${M} G${G}: ${x[i]} -> ${t.m[i]}*2^${E}`);
        // Dequantization to Q frac: the nearest int32 to m 2^(E+frac) (half away), saturated.
        const exact = t.m[i] * pow2(E + frac);
        const want = Math.max(-I32_MAX, Math.min(I32_MAX, Math.sign(exact) * Math.floor(Math.abs(exact) + 0.5)));
        assert.is(deq[i], want);
      }
    }
  }
  // Round trip: a tensor that is already GSE-exact comes back unchanged.
  const g = randomGse(rng, 256, 32, 8, -20, -5);
  const fixed = gseDequantizeToFixed(g.m, g.e, 256, 32, 20);
  const back = gseQuantize(fixed, 20, 32, 8, 'nearest');
  const again = gseDequantizeToFixed(back.m, back.e, 256, 32, 20);
  assert.equal([...again], [...fixed]);
});

test('stochastic rounding: unbiased over many draws, deterministic for a seed, one draw per value', () => {
  const G = 32, M = 8, N = 4000;
  const rng = new Rng(4, 'sr');
  const x = new Int32Array(G);
  x[0] = 100 << 10; // sets e = 10 (bitLength 17 - 7)
  for (let i = 1; i < G; i++) x[i] = int(rng, -(120 << 10), 120 << 10);
  const sums = new Float64Array(G);
  const r = new Xorshift64Star(12345, 678);
  let e = 0;
  for (let k = 0; k < N; k++) {
    const t = gseQuantize(x, 0, G, M, 'stochastic', r);
    e = t.e[0];
    for (let i = 0; i < G; i++) sums[i] += t.m[i] * pow2(e);
  }
  assert.is(e, 10);
  let meanErr = 0;
  for (let i = 0; i < G; i++) {
    const bias = sums[i] / N - x[i];
    // Per draw the error is in (-2^e, 2^e) with variance <= 2^(2e)/4: 6 sigma of the mean.
    assert.ok(Math.abs(bias) < 6 * pow2(e) / (2 * Math.sqrt(N)), `value ${i}: bias ${bias}`);
    meanErr += bias;
  }
  assert.ok(Math.abs(meanErr / G) < 2 * pow2(e) / Math.sqrt(N * G), `mean error ${meanErr / G}`);
  // Nearest is biased on this input (it is deterministic), stochastic is not: compare.
  const near = gseQuantize(x, 0, G, M, 'nearest');
  assert.ok(near.m.some((v, i) => v * pow2(e) !== x[i]));

  // Determinism: the same seed gives the same bytes; another seed differs.
  const a = gseQuantize(x, 0, G, M, 'stochastic', new Xorshift64Star(42, 0));
  const b = gseQuantize(x, 0, G, M, 'stochastic', new Xorshift64Star(42, 0));
  const c = gseQuantize(x, 0, G, M, 'stochastic', new Xorshift64Star(43, 0));
  assert.equal([...a.m], [...b.m]);
  assert.not.equal([...a.m], [...c.m]);
  // Exactly one draw per value whatever the data (zeros included): the stream after
  // quantizing n values is the stream advanced n times.
  const r1 = new Xorshift64Star(9, 9), r2 = new Xorshift64Star(9, 9);
  gseQuantize(new Int32Array(64), 0, 32, 8, 'stochastic', r1);
  for (let i = 0; i < 64; i++) r2.next();
  assert.is(r1.next(), r2.next());
  // The bump uses the top e bits of the value's draw: e = 1 here (amax 254 at M = 8), so
  // 101 = 2 * 50 + 1 becomes 51 iff bit 31 of its draw (the second) is 0.
  for (const seed of [5, 6, 7, 8, 9, 10]) {
    const one = new Int32Array(16); one[0] = 254; one[1] = 101;
    const r3 = new Xorshift64Star(seed, 1), r4 = new Xorshift64Star(seed, 1);
    const t = gseQuantize(one, 0, 16, 8, 'stochastic', r3);
    r4.next();
    const u = r4.next() >>> 0;
    assert.is(t.e[0], 1);
    assert.is(t.m[1], 50 + ((u >>> 31) === 0 ? 1 : 0));
    assert.is(t.m[0], 127);
  }
});

/** Float64 expectation and error bound of gseMatVec's output o (in output units). */
function matVecFloat(aM: Int8Array, aE: Int8Array, xM: Int8Array, xE: Int8Array, rows: number, cols: number, G: number, outFrac: number) {
  const ng = cols / G, want: number[] = [], bound: number[] = [];
  for (let o = 0; o < rows; o++) {
    let y = 0, mx = -Infinity;
    for (let g = 0; g < ng; g++) mx = Math.max(mx, aE[o * ng + g] + xE[g]);
    for (let j = 0; j < cols; j++) y += aM[o * cols + j] * pow2(aE[o * ng + Math.floor(j / G)]) * xM[j] * pow2(xE[Math.floor(j / G)]);
    want.push(y * pow2(outFrac));
    const C = mx - GSE_GUARD_BITS;
    // Final rounding (half an output unit) + half a unit 2^C per group rounded, + float slack.
    bound.push((C + outFrac < 0 ? 0.5 : 0) + ng * pow2(C + outFrac - 1) + Math.abs(y) * pow2(outFrac) * 1e-12);
  }
  return { want, bound };
}

test('gseMatVec vs an independent float64 product, within the stated bound', () => {
  const rng = new Rng(5, 'matvec');
  for (let k = 0; k < 60; k++) {
    const G = GSE_GROUP_SIZES[k & 3], M = GSE_MANTISSA_BITS[(k >> 2) & 3];
    const rows = int(rng, 1, 9), cols = G * int(rng, 1, 12), outFrac = [0, 8, 16, 24][k % 4];
    // Exponents spread over a wide range so that groups really are rescaled.
    const spread = [0, 3, 12, 40][(k >> 1) & 3];
    const A = randomGse(rng, rows * cols, G, M, -20 - spread, -14);
    const x = randomGse(rng, cols, G, M, -16 - spread, -8);
    const out = new Int32Array(rows);
    gseMatVec(out, A.m, A.e, x.m, x.e, rows, cols, G, outFrac);
    const { want, bound } = matVecFloat(A.m, A.e, x.m, x.e, rows, cols, G, outFrac);
    for (let o = 0; o < rows; o++) {
      const w = Math.max(-I32_MAX, Math.min(I32_MAX, want[o]));
      assert.ok(Math.abs(out[o] - w) <= bound[o] + 1e-9, `case ${k} row ${o}: ${out[o]} vs ${want[o]} (bound ${bound[o]})`);
    }
  }
  // Quantized from fixed point: y vs the float product of the original values, within the
  // quantization error too (relative, loose: this is what fine-tuning will see).
  const rows = 16, cols = 256, G = 32;
  const xf = randomFixed(rng, cols, 18), af = randomFixed(rng, rows * cols, 14);
  const A = gseQuantize(af, 14, G, 8, 'nearest'), x = gseQuantize(xf, 16, G, 8, 'nearest');
  const y = new Int32Array(rows);
  gseMatVec(y, A.m, A.e, x.m, x.e, rows, cols, G, 16);
  for (let o = 0; o < rows; o++) {
    // |a x - a' x'| <= |a| dx + |x| da + da dx, with da, dx < the group's unit 2^E (saturation included).
    let ref = 0, bound = pow2(-17) + (cols / G) * pow2(-17);
    for (let j = 0; j < cols; j++) {
      const a = af[o * cols + j] / pow2(14), xv = xf[j] / pow2(16);
      const da = pow2(A.e[o * (cols / G) + Math.floor(j / G)]), dx = pow2(x.e[Math.floor(j / G)]);
      ref += a * xv;
      bound += Math.abs(a) * dx + Math.abs(xv) * da + da * dx;
    }
    assert.ok(Math.abs(y[o] / pow2(16) - ref) <= bound, `row ${o}: ${y[o] / pow2(16)} vs ${ref} (bound ${bound})`);
  }
});

test('gseMatVecT (A^T g) vs an independent float64 product, within the stated bound', () => {
  const rng = new Rng(6, 'matvecT');
  for (let k = 0; k < 60; k++) {
    const G = GSE_GROUP_SIZES[k & 3], M = GSE_MANTISSA_BITS[(k >> 2) & 3];
    const rows = G * int(rng, 1, 4), cols = G * int(rng, 1, 3), outFrac = [0, 8, 16, 24][k % 4];
    const spread = [0, 3, 12, 40][(k >> 1) & 3];
    const A = randomGse(rng, rows * cols, G, M, -20 - spread, -14);
    const g = randomGse(rng, rows, G, M, -16 - spread, -8);
    const out = new Int32Array(cols);
    gseMatVecT(out, A.m, A.e, g.m, g.e, rows, cols, G, outFrac);
    const ng = cols / G;
    for (let j = 0; j < cols; j++) {
      const c = Math.floor(j / G);
      let z = 0, mx = -Infinity;
      for (let o = 0; o < rows; o++) {
        const s = A.e[o * ng + c] + g.e[Math.floor(o / G)];
        mx = Math.max(mx, s);
        z += A.m[o * cols + j] * g.m[o] * pow2(s);
      }
      const C = mx - GSE_GUARD_BITS;
      const bound = (C + outFrac < 0 ? 0.5 : 0) + rows * pow2(C + outFrac - 1) + 1e-9;
      const w = Math.max(-I32_MAX, Math.min(I32_MAX, z * pow2(outFrac)));
      assert.ok(Math.abs(out[j] - w) <= bound, `case ${k} col ${j}: ${out[j]} vs ${w}`);
    }
  }
});

test('overflow: maximal magnitudes stay exact inside the bound and saturate beyond it', () => {
  // G = 128, all mantissas +-127: the group dot is 128 * 127^2 = 2064512 < 2^21 (int32 MAC).
  const G = 128, cols = 4096, rows = 2;
  const aM = new Int8Array(rows * cols).fill(127), xM = new Int8Array(cols).fill(127);
  for (let j = 0; j < cols; j++) aM[cols + j] = -127; // row 1 negative
  const ng = cols / G;
  const out = new Int32Array(rows);
  // Exponents 0: y = 4096 * 16129 = 66064384 < 2^31, exact at outFrac 0, saturated at 6.
  gseMatVec(out, aM, new Int8Array(rows * ng), xM, new Int8Array(ng), rows, cols, G, 0);
  assert.equal([...out], [66064384, -66064384]);
  gseMatVec(out, aM, new Int8Array(rows * ng), xM, new Int8Array(ng), rows, cols, G, 6);
  assert.equal([...out], [I32_MAX, -I32_MAX]);
  // Largest quantized exponents (27 + 27) and smallest (-30 + -30): saturate, and round to 0.
  gseMatVec(out, aM, new Int8Array(rows * ng).fill(27), xM, new Int8Array(ng).fill(27), rows, cols, G, 30);
  assert.equal([...out], [I32_MAX, -I32_MAX]);
  gseMatVec(out, aM, new Int8Array(rows * ng).fill(-30), xM, new Int8Array(ng).fill(-30), rows, cols, G, 0);
  assert.equal([...out], [0, 0]);
  // Exponents such that the exact value sits just below 2^31 / 2^outFrac: no saturation.
  // y = 4096 * 16129 * 2^-2 * 2^5 = 528515072 (Q0).
  gseMatVec(out, aM, new Int8Array(rows * ng).fill(-2), xM, new Int8Array(ng).fill(0), rows, cols, G, 5);
  assert.equal([...out], [528515072, -528515072]);
  // Transposed: rows = 4096 (g grouped along rows), same values.
  const tRows = 4096, tCols = 128;
  const tA = new Int8Array(tRows * tCols).fill(-127), tg = new Int8Array(tRows).fill(127);
  const outT = new Int32Array(tCols);
  gseMatVecT(outT, tA, new Int8Array(tRows), tg, new Int8Array(tRows / G), tRows, tCols, G, 0);
  assert.ok(outT.every((v) => v === -66064384));
});

// ---- the AssemblyScript port ----

const ENTRY = `
export { gseQuantize, gseDequantizeToFixed, gseMatVec, gseMatVecT } from "../runtime/kernels/scalar/gse";
export { rngSeed } from "../runtime/kernels/scalar/rng";
export function heapBase(): usize { return __heap_base; }
`;

interface GseWasm {
  memory: WebAssembly.Memory;
  heapBase(): number;
  rngSeed(lo: number, hi: number): void;
  gseQuantize(outM: number, outE: number, x: number, n: number, frac: number, G: number, M: number, stochastic: number): void;
  gseDequantizeToFixed(out: number, m: number, e: number, n: number, G: number, frac: number): void;
  gseMatVec(out: number, aM: number, aE: number, xM: number, xE: number, rows: number, cols: number, G: number, outFrac: number): void;
  gseMatVecT(out: number, aM: number, aE: number, gM: number, gE: number, rows: number, cols: number, G: number, outFrac: number): void;
}

let built: { wasm: Uint8Array; ex: GseWasm } | undefined;
async function gseWasm() {
  if (!built) {
    const path = 'test/gse-entry.ts';
    const { wasm } = await compileAssemblyScript({ entries: [path], sources: { [path]: ENTRY } });
    const ex = new WebAssembly.Instance(new WebAssembly.Module(wasm), {}).exports as unknown as GseWasm;
    built = { wasm, ex };
  }
  return built;
}

const read = <T extends Int8Array | Int32Array>(ex: GseWasm, Ctor: new (b: ArrayBuffer, o: number, n: number) => T, p: number, n: number): T =>
  new Ctor(ex.memory.buffer.slice(p, p + n * (Ctor === (Int32Array as unknown) ? 4 : 1)), 0, n);

test('AssemblyScript port: no float instruction; byte-identical to the reference', async () => {
  const { wasm, ex } = await gseWasm();
  assertNoFloats(wasm, 'gse kernels');
  const rng = new Rng(7, 'port');
  const shapes: [number, number, number][] = [[1, 16, 16], [3, 32, 32], [8, 256, 32], [5, 128, 64], [4, 512, 128], [17, 96, 16]];
  for (const [rows, cols, G] of shapes) for (const M of GSE_MANTISSA_BITS) {
    const n = rows * cols, frac = int(rng, 0, 30), outFrac = int(rng, 0, 24);
    const xa = randomFixed(rng, n, int(rng, 4, 31));
    if (rng.next() & 1) { xa[0] = -2147483648; xa[1] = I32_MAX; }
    for (const stochastic of [0, 1]) {
      const lo = rng.next() | 1, hi = rng.next();
      const ref = gseQuantize(xa, frac, G, M, stochastic ? 'stochastic' : 'nearest', new Xorshift64Star(lo, hi));
      ex.rngSeed(lo, hi);
      const [pm, pe, px] = place(ex, [new Int8Array(n), new Int8Array(n / G), xa]);
      ex.gseQuantize(pm, pe, px, n, frac, G, M, stochastic);
      assert.equal([...read(ex, Int8Array, pm, n)], [...ref.m], `quantize ${rows}x${cols} G${G} M${M} s${stochastic}`);
      assert.equal([...read(ex, Int8Array, pe, n / G)], [...ref.e]);
      // gseQuantizeInto is the same function.
      const m2 = new Int8Array(n), e2 = new Int8Array(n / G);
      gseQuantizeInto(m2, e2, xa, n, frac, G, M, stochastic, new Xorshift64Star(lo, hi));
      assert.equal([...m2], [...ref.m]);

      const deq = gseDequantizeToFixed(ref.m, ref.e, n, G, frac);
      const [pd, pm2, pe2] = place(ex, [new Int32Array(n), ref.m, ref.e]);
      ex.gseDequantizeToFixed(pd, pm2, pe2, n, G, frac);
      assert.equal([...read(ex, Int32Array, pd, n)], [...deq], 'dequantize');
    }
    // Products: quantized A and x (real exponent patterns) and random wide-range exponents.
    for (const wide of [false, true]) {
      const A = wide ? randomGse(rng, n, G, M, -60, 40) : gseQuantize(xa, frac, G, M, 'nearest');
      const x = wide ? randomGse(rng, cols, G, M, -60, 40) : gseQuantize(randomFixed(rng, cols, 20), 16, G, M, 'nearest');
      const y = new Int32Array(rows);
      gseMatVec(y, A.m, A.e, x.m, x.e, rows, cols, G, outFrac);
      const [py, pam, pae, pxm, pxe] = place(ex, [new Int32Array(rows), A.m, A.e, x.m, x.e]);
      ex.gseMatVec(py, pam, pae, pxm, pxe, rows, cols, G, outFrac);
      assert.equal([...read(ex, Int32Array, py, rows)], [...y], `matvec ${rows}x${cols} G${G} M${M} wide=${wide}`);
      // Transposed needs rows % G == 0: use a [G * k, cols] matrix.
      const tRows = G * (1 + (rows & 1)), tA = randomGse(rng, tRows * cols, G, M, wide ? -60 : -20, wide ? 40 : -10);
      const g = randomGse(rng, tRows, G, M, wide ? -60 : -20, wide ? 40 : -10);
      const z = new Int32Array(cols);
      gseMatVecT(z, tA.m, tA.e, g.m, g.e, tRows, cols, G, outFrac);
      const [pz, ptm, pte, pgm, pge] = place(ex, [new Int32Array(cols), tA.m, tA.e, g.m, g.e]);
      ex.gseMatVecT(pz, ptm, pte, pgm, pge, tRows, cols, G, outFrac);
      assert.equal([...read(ex, Int32Array, pz, cols)], [...z], `matvecT ${tRows}x${cols} G${G} M${M} wide=${wide}`);
    }
  }
});

test.run();
