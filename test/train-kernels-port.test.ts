// The training kernels' AssemblyScript ports (runtime/kernels/scalar) against the integer
// reference (runtime/kernels/reference), byte for byte, on seeded random inputs including
// zeros, saturated values and +-(2^31 - 1); and no float instruction in the compiled module.
// docs/integer-spec.md §13.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Rng } from '../compiler/synth/prng.ts';
import { compileAssemblyScript } from '../compiler/codegen/asc.ts';
import { assertNoFloats } from '../compiler/codegen/float-check.ts';
import { exp2Table, modelConstants, ropeTables, siluTable } from '../compiler/quantize/tables.ts';
import { GemvTScratch, gemvQ8T } from '../runtime/kernels/reference/gemv_q8_t.ts';
import { RmsnormBackwardScratch, rmsnormBackward } from '../runtime/kernels/reference/rmsnorm_backward.ts';
import { swigluBackward } from '../runtime/kernels/reference/swiglu_backward.ts';
import { ropeBackwardQ24 } from '../runtime/kernels/reference/rope_backward.ts';
import { CrossEntropyScratch, crossEntropy } from '../runtime/kernels/reference/cross_entropy.ts';
import { AttentionBackwardScratch, attentionBackward } from '../runtime/kernels/reference/attention_backward.ts';
import { gseOuterAcc } from '../runtime/kernels/reference/gse_outer.ts';
import { sgdMomentum } from '../runtime/kernels/reference/sgd.ts';
import { place } from './helpers/wasm-place.ts';

const I32_MAX = 0x7fffffff;
const int = (rng: Rng, lo: number, hi: number) => lo + (rng.next() % (hi - lo + 1));

/** int32 values whose magnitudes span all octaves up to maxBits, with +-I32_MAX and 0 mixed in. */
function randI32(rng: Rng, n: number, maxBits = 31, extremes = true): Int32Array {
  const x = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const bits = int(rng, 0, maxBits);
    const v = bits === 31 ? rng.next() >>> 1 : rng.next() & (((1 << bits) >>> 0) - 1);
    x[i] = rng.next() & 1 ? -v : v;
  }
  if (extremes && n > 2 && rng.next() % 3 === 0) { x[int(rng, 0, n - 1)] = I32_MAX; x[int(rng, 0, n - 1)] = -I32_MAX; }
  if (extremes && rng.next() % 13 === 0) x[int(rng, 0, n - 1)] = -2147483648; // never produced (symmetric saturation), but must not diverge
  if (extremes && rng.next() % 9 === 0) x.fill(0);
  if (extremes && rng.next() % 11 === 0) for (let i = 0; i < n; i++) x[i] = i & 1 ? -I32_MAX : I32_MAX;
  return x;
}
const randI8 = (rng: Rng, n: number, q = 127) => Int8Array.from({ length: n }, () => int(rng, -q, q));
const randI16 = (rng: Rng, n: number, lo: number, hi: number) => Int16Array.from({ length: n }, () => int(rng, lo, hi));

const ENTRY = `
export { gemvQ8T } from "../runtime/kernels/scalar/gemv_q8_t";
export { rmsnormBackward } from "../runtime/kernels/scalar/rmsnorm_backward";
export { swigluBackward } from "../runtime/kernels/scalar/swiglu_backward";
export { ropeBackwardQ24 } from "../runtime/kernels/scalar/rope_backward";
export { crossEntropy } from "../runtime/kernels/scalar/cross_entropy";
export { attentionBackward } from "../runtime/kernels/scalar/attention_backward";
export { gseOuterAcc } from "../runtime/kernels/scalar/gse_outer";
export { sgdMomentum } from "../runtime/kernels/scalar/sgd";
export function heapBase(): usize { return __heap_base; }
`;

type Fn = (...a: number[]) => number;
interface W { memory: WebAssembly.Memory; heapBase(): number; [k: string]: Fn | WebAssembly.Memory }

let built: { wasm: Uint8Array; ex: W } | undefined;
async function trainWasm() {
  if (!built) {
    const path = 'test/train-kernels-entry.ts';
    const { wasm } = await compileAssemblyScript({ entries: [path], sources: { [path]: ENTRY } });
    built = { wasm, ex: new WebAssembly.Instance(new WebAssembly.Module(wasm), {}).exports as unknown as W };
  }
  return built;
}
const call = (ex: W, name: string, ...a: number[]) => (ex[name] as Fn)(...a);

const read32 = (ex: W, p: number, n: number) => [...new Int32Array(ex.memory.buffer.slice(p, p + 4 * n))];

test('no float instruction in the compiled training kernels', async () => {
  const { wasm } = await trainWasm();
  assertNoFloats(wasm, 'training kernels');
});

test('gemvQ8T: port == reference', async () => {
  const { ex } = await trainWasm();
  const rng = new Rng(11, 'gemvT');
  for (let k = 0; k < 120; k++) {
    const d = [1, 16, 64, 37, 256, 20000][k % 6], n = [1, 16, 48, 91, 64][(k >> 2) % 5];
    const w = k % 6 === 5 ? new Int8Array(d * n).fill(-128) : randI8(rng, d * n), wM = randI16(rng, d, 16384, 32767);
    const wE = Int8Array.from({ length: d }, () => (k % 7 === 0 ? int(rng, -20, 60) : int(rng, 14, 30)));
    const g = randI32(rng, d, int(rng, 0, 31)), outFrac = int(rng, 0, 30), gFrac = k % 3 ? 24 : int(rng, 0, 30);
    const out = new Int32Array(n);
    gemvQ8T(out, w, wM, wE, g, gFrac, n, d, outFrac, new GemvTScratch(d, n));
    const [po, pw, pm, pe, pg, gp, q, pacc] = place(ex, [new Int32Array(n), w, wM, wE, g, new Int32Array(d), new Int16Array(d), new Int32Array(n)]);
    call(ex, 'gemvQ8T', po, pw, pm, pe, pg, gFrac, n, d, outFrac, gp, q, pacc);
    assert.equal(read32(ex, po, n), [...out], `case ${k} d${d} n${n}`);
  }
});

test('rmsnormBackward: port == reference', async () => {
  const { ex } = await trainWasm();
  const rng = new Rng(12, 'rmsB');
  for (let k = 0; k < 120; k++) {
    const n = [16, 64, 288, 48][k % 4], c = modelConstants(n, 8);
    const x = randI32(rng, n, int(rng, 0, 31)), dy = randI32(rng, n, int(rng, 0, 31));
    const gain = randI16(rng, n, k % 5 ? -32768 : 0, 32767), gainFrac = int(rng, 0, 15);
    const dx = new Int32Array(n);
    rmsnormBackward(dx, dy, x, n, gain, gainFrac, c.rmsEpsQ32, c.rmsSqShift, c.rmsDimScale.m, c.rmsDimScale.e, new RmsnormBackwardScratch(n));
    const [pd, pdy, px, pg] = place(ex, [new Int32Array(n), dy, x, gain]);
    call(ex, 'rmsnormBackward', pd, pdy, px, n, pg, gainFrac, c.rmsEpsQ32, c.rmsSqShift, c.rmsDimScale.m, c.rmsDimScale.e);
    assert.equal(read32(ex, pd, n), [...dx], `case ${k} n${n}`);
  }
});

test('swigluBackward and ropeBackwardQ24: port == reference', async () => {
  const { ex } = await trainWasm();
  const rng = new Rng(13, 'swiRope');
  const table = siluTable();
  for (let k = 0; k < 60; k++) {
    const n = int(rng, 1, 300);
    const a = randI32(rng, n, int(rng, 16, 31)), b = randI32(rng, n, int(rng, 0, 31)), dh = randI32(rng, n, int(rng, 0, 31));
    for (let i = 0; i < n; i += 7) a[i] = int(rng, -2, 2) * (16 << 16) + int(rng, -2, 2); // around +-16 and 0
    const da = new Int32Array(n), db = new Int32Array(n);
    swigluBackward(da, db, dh, a, b, n, table);
    const [pda, pdb, pdh, pa, pb, pt] = place(ex, [new Int32Array(n), new Int32Array(n), dh, a, b, table]);
    call(ex, 'swigluBackward', pda, pdb, pdh, pa, pb, n, pt);
    assert.equal(read32(ex, pda, n), [...da], `da ${k}`);
    assert.equal(read32(ex, pdb, n), [...db], `db ${k}`);
  }
  for (const [seq, hs] of [[32, 8], [64, 16], [16, 64]]) {
    const { cos, sin } = ropeTables(seq, hs);
    for (let k = 0; k < 20; k++) {
      const n = hs * int(rng, 1, 6), pos = int(rng, 0, seq - 1), v = randI32(rng, n);
      const [pv, pc, ps] = place(ex, [v, cos, sin]);
      ropeBackwardQ24(v, n, hs, cos, sin, pos);
      call(ex, 'ropeBackwardQ24', pv, n, hs, pc, ps, pos);
      assert.equal(read32(ex, pv, n), [...v], `rope hs${hs} ${k}`);
    }
  }
});

test('crossEntropy: port == reference (loss and dlogits)', async () => {
  const { ex } = await trainWasm();
  const rng = new Rng(14, 'ce');
  const exp2 = exp2Table();
  for (let k = 0; k < 100; k++) {
    const n = [1, 2, 32, 512, 4096][k % 5], target = int(rng, 0, n - 1);
    const logits = randI32(rng, n, k % 4 === 0 ? 31 : int(rng, 0, 24));
    const dl = new Int32Array(n);
    const loss = crossEntropy(dl, logits, n, target, exp2, new CrossEntropyScratch(n));
    const [pd, pl, pt, pe] = place(ex, [new Int32Array(n), logits, exp2, new Int32Array(n)]);
    assert.is(call(ex, 'crossEntropy', pd, pl, n, target, pt, pe), loss, `loss ${k}`);
    assert.equal(read32(ex, pd, n), [...dl], `dlogits ${k}`);
  }
});

test('attentionBackward: port == reference (dq overwritten, dK/dV accumulated)', async () => {
  const { ex } = await trainWasm();
  const rng = new Rng(15, 'attB');
  const exp2 = exp2Table();
  for (let k = 0; k < 60; k++) {
    const [nHeads, nKv, hs] = ([[4, 4, 8], [4, 2, 16], [6, 2, 32], [1, 1, 64], [8, 1, 8]] as const)[k % 5];
    const seq = int(rng, 1, 40), pos = int(rng, 0, seq - 1), kvDim = nKv * hs, dim = nHeads * hs;
    const att = modelConstants(dim, hs).attScale;
    const kc = randI16(rng, seq * kvDim, -2047, 2047), vc = randI8(rng, seq * kvDim);
    const kM = randI16(rng, seq * nKv, 16384, 32767), vM = randI16(rng, seq * nKv, 16384, 32767);
    const kE = Int8Array.from({ length: seq * nKv }, () => int(rng, 10, 30));
    const vE = Int8Array.from({ length: seq * nKv }, () => (k % 6 === 0 ? int(rng, -10, 60) : int(rng, 14, 28)));
    // (q never holds -2^31: it goes through the forward's quantizeAct, whose reference reads
    // |-2^31| as 2^31 and its port as -2^31; the forward never produces it)
    const q = randI32(rng, dim, int(rng, 8, 31)).map((v) => (v === -2147483648 ? -I32_MAX : v)), dout = randI32(rng, dim, int(rng, 0, 31));
    const dK = randI32(rng, seq * kvDim, 30, false), dV = randI32(rng, seq * kvDim, 30, false);
    const [pdq, pdK, pdV, pdo, pq, pkc, pkM, pkE, pvc, pvM, pvE, pex, pq12, psc, pe, pds] = place(ex, [
      new Int32Array(dim), dK, dV, dout, q, kc, kM, kE, vc, vM, vE, exp2,
      new Int16Array(hs), new Int32Array(seq), new Int32Array(seq), new Int32Array(seq)]);
    const dq = new Int32Array(dim);
    attentionBackward(dq, dK, dV, dout, q, pos, kc, kM, kE, vc, vM, vE, nHeads, nKv, hs, att.m, att.e, exp2, new AttentionBackwardScratch(hs, seq));
    call(ex, 'attentionBackward', pdq, pdK, pdV, pdo, pq, pos, pkc, pkM, pkE, pvc, pvM, pvE, nHeads, nKv, hs, att.m, att.e, pex, pq12, psc, pe, pds);
    assert.equal(read32(ex, pdq, dim), [...dq], `dq ${k}`);
    assert.equal(read32(ex, pdK, seq * kvDim), [...dK], `dK ${k}`);
    assert.equal(read32(ex, pdV, seq * kvDim), [...dV], `dV ${k}`);
  }
});

test('gseOuterAcc and sgdMomentum: port == reference', async () => {
  const { ex } = await trainWasm();
  const rng = new Rng(16, 'outerSgd');
  for (let k = 0; k < 60; k++) {
    const G = [16, 32, 16][k % 3], rows = G * int(rng, 1, 3), cols = G * int(rng, 1, 4);
    const aM = randI8(rng, rows), bM = randI8(rng, cols);
    const aE = Int8Array.from({ length: rows / G }, () => int(rng, -40, 10));
    const bE = Int8Array.from({ length: cols / G }, () => int(rng, -40, 10));
    const acc = randI32(rng, rows * cols, int(rng, 0, 31)), accFrac = int(rng, 0, 30);
    const [pa, pam, pae, pbm, pbe] = place(ex, [acc, aM, aE, bM, bE]);
    gseOuterAcc(acc, accFrac, aM, aE, bM, bE, rows, cols, G);
    call(ex, 'gseOuterAcc', pa, accFrac, pam, pae, pbm, pbe, rows, cols, G);
    assert.equal(read32(ex, pa, rows * cols), [...acc], `outer ${k}`);
  }
  for (let k = 0; k < 60; k++) {
    const n = int(rng, 1, 500), w = randI32(rng, n), v = randI32(rng, n), g = randI32(rng, n, int(rng, 0, 31));
    const lrM = int(rng, 16384, 32767), lrE = int(rng, 0, 50), mom = [0, 1, 3, 7, 30][k % 5];
    const [pw, pv, pg] = place(ex, [w, v, g]);
    sgdMomentum(w, v, g, n, lrM, lrE, mom);
    call(ex, 'sgdMomentum', pw, pv, pg, n, lrM, lrE, mom);
    assert.equal(read32(ex, pw, n), [...w], `w ${k}`);
    assert.equal(read32(ex, pv, n), [...v], `v ${k}`);
    assert.equal(read32(ex, pg, n), [...g], `gacc ${k}`);
  }
});

test.run();
