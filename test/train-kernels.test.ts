// The integer training kernels (docs/integer-spec.md §13) against independent float64 (or
// BigInt) computations of the same math, within the bounds the spec states; plus edge
// cases (zeros, saturation, extreme dynamic range). The AssemblyScript ports are compared
// byte for byte in test/train-kernels-port.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Rng } from '../compiler/synth/prng.ts';
import { exp2Table, modelConstants, ropeTables, siluTable } from '../compiler/quantize/tables.ts';
import { quantizeGain } from '../compiler/quantize/weights.ts';
import { ACT_QMAX, INV_ACT_QMAX_E, INV_ACT_QMAX_M, INV_QMAX8_E, INV_QMAX8_M, QMAX8 } from '../runtime/kernels/reference/constants.ts';
import { quantizeAct } from '../runtime/kernels/reference/quantize_act.ts';
import { rmsnormQuant } from '../runtime/kernels/reference/rmsnorm.ts';
import { ropeQ16 } from '../runtime/kernels/reference/rope.ts';
import { GemvTScratch, gemvQ8T } from '../runtime/kernels/reference/gemv_q8_t.ts';
import { RmsnormBackwardScratch, invRmsScale, rmsnormBackward } from '../runtime/kernels/reference/rmsnorm_backward.ts';
import { siluGradQ16, swigluBackward } from '../runtime/kernels/reference/swiglu_backward.ts';
import { ropeBackwardQ24 } from '../runtime/kernels/reference/rope_backward.ts';
import { CrossEntropyScratch, crossEntropy, log2Q16 } from '../runtime/kernels/reference/cross_entropy.ts';
import { AttentionBackwardScratch, attentionBackward } from '../runtime/kernels/reference/attention_backward.ts';
import { gseOuterAcc } from '../runtime/kernels/reference/gse_outer.ts';
import { sgdMomentum } from '../runtime/kernels/reference/sgd.ts';
import { fillCache, randQ, sv } from './helpers/kv-cache.ts';

const I32_MAX = 0x7fffffff;
const Q16 = 65536, Q24 = 16777216;
const int = (rng: Rng, lo: number, hi: number) => lo + (rng.next() % (hi - lo + 1));
const sat = (v: number) => Math.max(-I32_MAX, Math.min(I32_MAX, v));
const VERBOSE = !!process.env.TRAIN_KERNELS_VERBOSE;
const note = (...a: unknown[]) => { if (VERBOSE) console.log(...a); };

function relL2(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let e = 0, w = 0;
  for (let i = 0; i < want.length; i++) { e += (got[i] - want[i]) ** 2; w += want[i] ** 2; }
  return w === 0 ? Math.sqrt(e) : Math.sqrt(e / w);
}

// ---- 1. gemvQ8T ----

test('gemvQ8T: W^T (sW g) within half a 12-bit step of g sW per term (tiny to huge g)', () => {
  const r = new Rng(21, 'gemvT');
  let worst = 0;
  for (const [d, n] of [[64, 48], [256, 64], [32000 >> 6, 288], [16, 16]]) {
    const w = Int8Array.from({ length: d * n }, () => int(r, -127, 127));
    const wM = Int16Array.from({ length: d }, () => int(r, 16384, 32767));
    const wE = Int8Array.from({ length: d }, () => int(r, 18, 26));
    for (const mag of [1e-7, 1e-3, 1, 100]) {
      // outFrac 16 for the larger g so that the result does not saturate (checked below).
      const g = randQ(r, d, mag, 24), out = new Int32Array(n), of = mag >= 1 ? 16 : 24, Qo = 2 ** of;
      gemvQ8T(out, w, wM, wE, g, 24, n, d, of, new GemvTScratch(d, n));
      const gs = Float64Array.from(g, (v, i) => (v / Q24) * wM[i] * 2 ** -wE[i]);
      const step = gs.reduce((a, v) => Math.max(a, Math.abs(v)), 0) / 2047;
      const want = new Float64Array(n);
      for (let c = 0; c < n; c++) {
        let s = 0, sa = 0;
        for (let i = 0; i < d; i++) { s += w[i * n + c] * gs[i]; sa += Math.abs(w[i * n + c]); }
        want[c] = s;
        // half a step (+ the scale's 2^-13 relative error) per term, the final rounding, the
        // 15-bit normalization of g sW (2^-14 of the largest).
        const bound = sa * step * (0.5 + 2047 * 2 ** -13) + Math.abs(s) * 2 ** -13 + 1 / Qo;
        const err = Math.abs(out[c] / Qo - s);
        assert.ok(err <= bound, `d${d} n${n} mag${mag} c${c}: ${out[c] / Qo} vs ${s} (bound ${bound})`);
      }
      // relative L2 only where the output is well above its last bit
      if (want.some((v) => Math.abs(v) * Qo > 4096)) worst = Math.max(worst, relL2(Float64Array.from(out, (v) => v / Qo), want));
    }
  }
  note('gemvQ8T worst relative L2 error', worst);
  assert.ok(worst < 2e-3, `relative L2 ${worst}`);
  // g = 0 gives 0; saturating inputs saturate with the right sign.
  const out = new Int32Array(4);
  gemvQ8T(out, new Int8Array(8).fill(5), new Int16Array(2).fill(16384), new Int8Array(2).fill(14), new Int32Array(2), 24, 4, 2, 24, new GemvTScratch(2, 4));
  assert.equal([...out], [0, 0, 0, 0]);
  const wq = Int8Array.from([127, -127, 1, 0, 127, -127, 1, 0]);
  gemvQ8T(out, wq, new Int16Array(2).fill(32767), new Int8Array(2).fill(0), new Int32Array(2).fill(I32_MAX), 0, 4, 2, 30, new GemvTScratch(2, 4));
  assert.equal([...out], [I32_MAX, -I32_MAX, I32_MAX, 0]);
  // A 20000-row matrix (a big classifier) at full scale: sum |q| > 2^24 forces chunking;
  // the result still matches float64 (one extra output rounding per chunk).
  const d = 20000, n = 8, wb = Int8Array.from({ length: d * n }, (_, i) => (i % 3 ? 127 : -127));
  const gb = Int32Array.from({ length: d }, (_, i) => (i % 7 ? I32_MAX : I32_MAX - 12345));
  const big = new Int32Array(n), wMb = new Int16Array(d).fill(16384), wEb = new Int8Array(d).fill(40);
  gemvQ8T(big, wb, wMb, wEb, gb, 24, n, d, 24, new GemvTScratch(d, n));
  for (let c = 0; c < n; c++) {
    let want = 0;
    for (let rr = 0; rr < d; rr++) want += wb[rr * n + c] * (gb[rr] / Q24) * 2 ** -26;
    assert.ok(Math.abs(big[c] / Q24 - want) <= d * 127 * (I32_MAX / Q24) * 2 ** -26 * (0.5 / 2047 + 2 ** -13) + 4 / Q24, `chunked c${c}: ${big[c] / Q24} vs ${want}`);
  }
});

// ---- 2. rmsnormBackward ----

test('invRmsScale is the 1/rms rmsnormQuant uses (its output scale = scale(g x) * 1/rms)', () => {
  const r = new Rng(22, 'invrms');
  for (const n of [64, 288]) {
    const c = modelConstants(n, 8);
    const { q: g, frac } = quantizeGain(Float32Array.from({ length: n }, () => 1 + 0.3 * r.gauss()));
    for (const mag of [1e-3, 1, 300]) {
      const x = randQ(r, n, mag, 16), q = new Int16Array(n), u = new Int32Array(n), sc = new Int32Array(2);
      rmsnormQuant(q, x, n, g, frac, c.rmsEpsQ32, c.rmsSqShift, c.rmsDimScale.m, c.rmsDimScale.e, u, sc, 0);
      // scale(u) from u = x' g as rmsnormQuant forms it; times our 1/rms.
      let amax = 0;
      for (const v of x) amax = Math.max(amax, Math.abs(v));
      const k = 32 - Math.clz32(amax) - 15;
      const uu = Int32Array.from(x, (v, i) => Math.imul(k >= 0 ? v >> k : v << -k, g[i]));
      const su = new Int32Array(4), q2 = new Int16Array(n);
      quantizeAct(q2, 0, uu, 0, n, 16 - k + frac, ACT_QMAX, INV_ACT_QMAX_M, INV_ACT_QMAX_E, su, 0);
      invRmsScale(x, n, c.rmsEpsQ32, c.rmsSqShift, c.rmsDimScale.m, c.rmsDimScale.e, su, 2);
      const p = su[0] * su[2], want = p >= 2 ** 29 ? [(p + 2 ** 14) >> 15, su[1] + su[3] - 15] : [(p + 2 ** 13) >> 14, su[1] + su[3] - 14];
      if (want[0] === 32768) { want[0] = 16384; want[1]--; }
      assert.equal([sc[0], sc[1]], want, `n${n} mag${mag}`);
      // and it is 1/sqrt(mean x^2 + eps) within 2^-11
      let ss = 0;
      for (const v of x) ss += (v / Q16) ** 2;
      const rr = 1 / Math.sqrt(ss / n + c.rmsEpsQ32 * 2 ** -32);
      assert.ok(Math.abs(sv(su, 2) / rr - 1) < 2 ** -11);
    }
  }
});

test('rmsnormBackward matches the float64 analytic gradient (incl. eps-dominated x, x = 0, tiny/huge dy)', () => {
  const r = new Rng(23, 'rmsB');
  let worst = 0;
  for (const n of [64, 288, 768]) {
    const c = modelConstants(n, 8), eps = c.rmsEpsQ32 * 2 ** -32;
    const { q: g, frac } = quantizeGain(Float32Array.from({ length: n }, () => 1 + 0.5 * r.gauss()));
    const gf = Float64Array.from(g, (v) => v * 2 ** -frac);
    for (const [xm, dm] of [[1, 1], [0.001, 1e-5], [100, 30], [1, 1e-6], [0.0005, 1e-3]]) {
      const x = randQ(r, n, xm, 16), dy = randQ(r, n, dm, 24), dx = new Int32Array(n);
      rmsnormBackward(dx, dy, x, n, g, frac, c.rmsEpsQ32, c.rmsSqShift, c.rmsDimScale.m, c.rmsDimScale.e, new RmsnormBackwardScratch(n));
      let ss = 0, S = 0;
      for (let i = 0; i < n; i++) { ss += (x[i] / Q16) ** 2; S += gf[i] * (dy[i] / Q24) * (x[i] / Q16); }
      const rr = 1 / Math.sqrt(ss / n + eps);
      const t1 = Float64Array.from(dy, (v, i) => rr * gf[i] * (v / Q24));
      const t2 = Float64Array.from(x, (v) => ((rr ** 3) / n) * (v / Q16) * S);
      const want = Float64Array.from(t1, (v, i) => v - t2[i]);
      // term-wise: 1/rms relative error < 2^-11 on both terms; S from 15-bit mantissas of x
      // and dy: its error <= sum_j |g_j| (|x_j| ulp_dy + |dy_j| ulp_x + ulp_x ulp_dy) + n 2^-31 ...
      let ax = 0, ad = 0;
      for (let i = 0; i < n; i++) { ax = Math.max(ax, Math.abs(x[i])); ad = Math.max(ad, Math.abs(dy[i])); }
      const ux = 2 ** Math.max(0, 32 - Math.clz32(ax) - 15) / Q16, ud = 2 ** Math.max(0, 32 - Math.clz32(ad) - 15) / Q24;
      let sErr = 0;
      for (let i = 0; i < n; i++) sErr += Math.abs(gf[i]) * (Math.abs(x[i] / Q16) * ud + Math.abs(dy[i] / Q24) * ux + ux * ud);
      sErr += Math.abs(S) * 2 ** -13 + n * (ax / Q16) * (ad / Q24) * 2 ** -29;
      for (let i = 0; i < n; i++) {
        const bound = 2 ** -11 * (Math.abs(t1[i]) + Math.abs(t2[i])) + ((rr ** 3) / n) * Math.abs(x[i] / Q16) * sErr * 1.01 + 1.5 / Q24;
        assert.ok(Math.abs(dx[i] / Q24 - want[i]) <= bound, `n${n} x${xm} dy${dm} i${i}: ${dx[i] / Q24} vs ${want[i]}`);
      }
      const e = relL2(Float64Array.from(dx, (v) => v / Q24), want);
      if (want.some((v) => Math.abs(v) * Q24 > 100)) worst = Math.max(worst, e);
    }
  }
  note('rmsnormBackward worst relative L2 error', worst);
  assert.ok(worst < 1e-3, `relative L2 ${worst}`);
  // x = 0: dx = g dy / sqrt(eps) (the second term vanishes).
  const n = 64, c = modelConstants(n, 8), g = new Int16Array(n).fill(1 << 12), dy = randQ(r, n, 1e-4, 24), dx = new Int32Array(n);
  rmsnormBackward(dx, dy, new Int32Array(n), n, g, 12, c.rmsEpsQ32, c.rmsSqShift, c.rmsDimScale.m, c.rmsDimScale.e, new RmsnormBackwardScratch(n));
  const rr = 1 / Math.sqrt(c.rmsEpsQ32 * 2 ** -32);
  for (let i = 0; i < n; i++) assert.ok(Math.abs(dx[i] - dy[i] * rr) <= Math.abs(dy[i] * rr) * 2 ** -11 + 1, `x=0 ${i}`);
  // dx may alias dy or x: the same bytes
  const x = randQ(r, n, 1, 16), dy2 = randQ(r, n, 0.1, 24), ref = new Int32Array(n), sc = new RmsnormBackwardScratch(n);
  rmsnormBackward(ref, dy2, x, n, g, 12, c.rmsEpsQ32, c.rmsSqShift, c.rmsDimScale.m, c.rmsDimScale.e, sc);
  const a1 = Int32Array.from(dy2), a2 = Int32Array.from(x);
  rmsnormBackward(a1, a1, x, n, g, 12, c.rmsEpsQ32, c.rmsSqShift, c.rmsDimScale.m, c.rmsDimScale.e, sc);
  rmsnormBackward(a2, dy2, a2, n, g, 12, c.rmsEpsQ32, c.rmsSqShift, c.rmsDimScale.m, c.rmsDimScale.e, sc);
  assert.equal([...a1], [...ref]);
  assert.equal([...a2], [...ref]);
});

// ---- 3. swigluBackward ----

test("swigluBackward: silu' is the exact slope of the interpolated table; da, db within half an ulp of each rounding", () => {
  const r = new Rng(24, 'swiB');
  const T = siluTable();
  const siluInterp = (x: number) => { // the forward's interpolation, in exact real arithmetic
    if (x <= -(16 << 16)) return 0;
    if (x >= 16 << 16) return x / Q16;
    const u = x + (16 << 16), j = Math.floor(u / 1024), f = u % 1024;
    return (T[j] + ((T[j + 1] - T[j]) * f) / 1024) / Q16;
  };
  // slope = the finite difference of the interpolation inside an interval (exact derivative)
  for (let k = 0; k < 3000; k++) {
    const x = int(r, -(17 << 16), 17 << 16);
    const u = x + (16 << 16);
    if (x > -(16 << 16) && x < (16 << 16) - 1024 && (u & 1023) < 1000) {
      const fd = (siluInterp(x + 16) - siluInterp(x)) * (Q16 / 16);
      assert.ok(Math.abs(siluGradQ16(x, T) / Q16 - fd) < 1e-9, `slope at ${x}`);
    }
    // and the true derivative sigma(x) (1 + x (1 - sigma(x))) within the table's accuracy
    const xf = x / Q16, s = 1 / (1 + Math.exp(-xf)), exact = s * (1 + xf * (1 - s));
    const tol = Math.abs(xf) >= 16 ? 2e-5 : 2 ** -16 * 64 + 0.0042; // chord slope vs derivative (|silu''| / 128 < 0.0042) + 64 x the table's half ulp
    assert.ok(Math.abs(siluGradQ16(x, T) / Q16 - exact) <= tol, `silu'(${xf}) = ${siluGradQ16(x, T) / Q16} vs ${exact}`);
  }
  assert.is(siluGradQ16(-(16 << 16), T), 0);
  assert.is(siluGradQ16(16 << 16, T), Q16);
  const n = 4000, a = Int32Array.from({ length: n }, () => int(r, -(18 << 16), 18 << 16));
  const b = randQ(r, n, 2, 16), dh = randQ(r, n, 0.01, 24), da = new Int32Array(n), db = new Int32Array(n);
  swigluBackward(da, db, dh, a, b, n, T);
  for (let i = 0; i < n; i++) {
    const gp = siluGradQ16(a[i], T) / Q16;
    const wantB = (dh[i] / Q24) * siluInterp(a[i]), wantA = (dh[i] / Q24) * (b[i] / Q16) * gp;
    // db: silu rounded to Q16 (<= 2^-17), product rounded to Q24; da: b silu' rounded to Q16, then to Q24.
    assert.ok(Math.abs(db[i] / Q24 - wantB) <= Math.abs(dh[i] / Q24) * 2 ** -17 + 0.5 / Q24 + 1e-15, `db ${i}`);
    assert.ok(Math.abs(da[i] / Q24 - wantA) <= Math.abs(dh[i] / Q24) * 2 ** -17 + 0.5 / Q24 + 1e-15, `da ${i}`);
  }
  // saturation: huge dh and b saturate with the right sign, no wrap
  const one = (v: number) => Int32Array.of(v);
  const o1 = new Int32Array(1), o2 = new Int32Array(1);
  swigluBackward(o1, o2, one(I32_MAX), one(20 << 16), one(-I32_MAX), 1, T);
  assert.equal([o1[0], o2[0]], [-I32_MAX, I32_MAX]);
});

// ---- 4. ropeBackwardQ24 ----

test('ropeBackwardQ24 is the adjoint of ropeQ16 (<R x, y> = <x, R^T y>) and inverts it', () => {
  const r = new Rng(25, 'ropeB');
  for (const [seq, hs] of [[64, 8], [256, 16], [128, 64]]) {
    const { cos, sin } = ropeTables(seq, hs);
    for (let k = 0; k < 20; k++) {
      const n = hs * int(r, 1, 4), pos = int(r, 0, seq - 1);
      const x = randQ(r, n, 1, 16), y = randQ(r, n, 0.01, 24);
      const rx = Int32Array.from(x), ry = Int32Array.from(y);
      ropeQ16(rx, n, hs, cos, sin, pos);
      ropeBackwardQ24(ry, n, hs, cos, sin, pos);
      let lhs = 0, rhs = 0, nx = 0, ny = 0;
      for (let i = 0; i < n; i++) { lhs += (rx[i] / Q16) * (y[i] / Q24); rhs += (x[i] / Q16) * (ry[i] / Q24); nx += (x[i] / Q16) ** 2; ny += (y[i] / Q24) ** 2; }
      // each output element is within 1 ulp (two half-ulp roundings) of the exact rotation by the table
      assert.ok(Math.abs(lhs - rhs) <= Math.sqrt(nx * ny) * 2 ** -12 + n * (Math.sqrt(nx) / Q24 + Math.sqrt(ny) / Q16), `adjoint hs${hs} pos${pos}`);
      for (let i = 0; i < n; i += 2) {
        const j = (pos * hs) / 2 + ((i % hs) >> 1), c = cos[j] / 16384, s = sin[j] / 16384;
        const a = y[i] / Q24, b = y[i + 1] / Q24;
        assert.ok(Math.abs(ry[i] / Q24 - (a * c + b * s)) <= 1 / Q24, `a ${i}`);
        assert.ok(Math.abs(ry[i + 1] / Q24 - (b * c - a * s)) <= 1 / Q24, `b ${i}`);
      }
      // inverse: R^T R v = v within cos^2 + sin^2 = 1 +- 2^-13 and the roundings
      const back = Int32Array.from(y);
      ropeQ16(back, n, hs, cos, sin, pos);
      ropeBackwardQ24(back, n, hs, cos, sin, pos);
      for (let i = 0; i < n; i++) assert.ok(Math.abs(back[i] - y[i]) <= Math.abs(y[i]) * 2 ** -12 + 3, `inverse ${i}`);
    }
  }
});

// ---- 5. crossEntropy ----

test('log2Q16: within 2^-15 of log2 (truncated fraction), exact on powers of two', () => {
  const r = new Rng(26, 'log2');
  for (let b = 0; b <= 30; b++) assert.is(log2Q16(2 ** b), b * Q16);
  for (let k = 0; k < 5000; k++) {
    const v = 1 + (r.next() >>> (1 + (k % 31)));
    const got = log2Q16(v) / Q16, want = Math.log2(v);
    assert.ok(got - want <= 2 ** -16 && want - got <= 2 ** -15, `log2(${v}) = ${got} vs ${want}`);
  }
});

test('crossEntropy: loss within 5e-4 nats of float log-softmax, dlogits within 5e-4 of p - onehot (vocab up to 32000)', () => {
  const r = new Rng(27, 'ce');
  const exp2 = exp2Table();
  let worstL = 0, worstP = 0;
  for (const n of [2, 32, 512, 4096, 32000]) {
    for (const mag of [0.01, 1, 5, 20]) {
      const logits = randQ(r, n, mag, 16), target = int(r, 0, n - 1), dl = new Int32Array(n);
      const loss = crossEntropy(dl, logits, n, target, exp2, new CrossEntropyScratch(n));
      const lf = Float64Array.from(logits, (v) => v / Q16), m = Math.max(...lf);
      let s = 0;
      for (const v of lf) s += Math.exp(v - m);
      const want = Math.log(s) + m - lf[target];
      worstL = Math.max(worstL, Math.abs(loss / Q16 - want));
      for (let i = 0; i < n; i++) {
        const p = Math.exp(lf[i] - m) / s - (i === target ? 1 : 0);
        worstP = Math.max(worstP, Math.abs(dl[i] / Q24 - p));
      }
    }
  }
  note('crossEntropy worst |loss error| (nats)', worstL, 'worst |dlogit error|', worstP);
  assert.ok(worstL <= 5e-4, `loss error ${worstL}`);
  assert.ok(worstP <= 5e-4, `dlogits error ${worstP}`);
  // one-hot logits: a confident correct prediction has loss ~0 and dlogits ~0; extreme logits saturate, no wrap
  const n = 8, l = new Int32Array(n).fill(-I32_MAX), dl = new Int32Array(n);
  l[3] = I32_MAX;
  assert.is(crossEntropy(dl, l, n, 3, exp2, new CrossEntropyScratch(n)), 0);
  assert.equal([...dl], [0, 0, 0, 0, 0, 0, 0, 0]);
  assert.is(crossEntropy(dl, l, n, 2, exp2, new CrossEntropyScratch(n)), I32_MAX);
  assert.is(dl[2], -Q24);
  assert.is(dl[3], Q24);
});

// ---- 6. attentionBackward ----

test('attentionBackward matches the float64 attention gradient over the same dequantized q, K, V', () => {
  const r = new Rng(28, 'attB');
  const exp2 = exp2Table();
  const worst = { dq: 0, dK: 0, dV: 0 };
  for (const [nHeads, nKv, hs, n, seq] of [[8, 4, 8, 40, 64], [4, 4, 16, 1, 8], [6, 2, 32, 200, 256], [2, 1, 64, 17, 32], [4, 2, 16, 1000, 1024]]) {
    const kd = nKv * hs, dim = nHeads * hs, group = nHeads / nKv;
    const att = modelConstants(dim, hs).attScale;
    const c = fillCache(r, n, nKv, hs, 1.5, 1, seq);
    for (const dmag of [1e-4, 1]) {
      const q = randQ(r, dim, 1.5, 16), dout = randQ(r, dim, dmag, 24);
      const dK0 = randQ(r, seq * kd, dmag, 24), dV0 = randQ(r, seq * kd, dmag, 24);
      const dq = new Int32Array(dim), dK = Int32Array.from(dK0), dV = Int32Array.from(dV0);
      attentionBackward(dq, dK, dV, dout, q, n - 1, c.kc, c.kM, c.kE, c.vc, c.vM, c.vE, nHeads, nKv, hs, att.m, att.e, exp2, new AttentionBackwardScratch(hs, seq));
      // float64: q as the forward used it (12-bit values times their scale)
      const wq = new Float64Array(dim), wK = new Float64Array(seq * kd), wV = new Float64Array(seq * kd);
      const q12 = new Int16Array(hs), sc = new Int32Array(2);
      for (let h = 0; h < nHeads; h++) {
        const g = Math.floor(h / group);
        quantizeAct(q12, 0, q, h * hs, hs, 16, ACT_QMAX, INV_ACT_QMAX_M, INV_ACT_QMAX_E, sc, 0);
        const qf = Array.from(q12, (v) => v * sv(sc)), dof = Array.from({ length: hs }, (_, i) => dout[h * hs + i] / Q24);
        const s = Array.from({ length: n }, (_, t) => { let a = 0; for (let i = 0; i < hs; i++) a += qf[i] * c.kf[t * kd + g * hs + i]; return a / Math.sqrt(hs); });
        const m = Math.max(...s), e = s.map((v) => Math.exp(v - m)), z = e.reduce((a, b) => a + b, 0), p = e.map((v) => v / z);
        const dp = Array.from({ length: n }, (_, t) => { let a = 0; for (let i = 0; i < hs; i++) a += dof[i] * c.vf[t * kd + g * hs + i]; return a; });
        const avg = p.reduce((a, v, t) => a + v * dp[t], 0), ds = p.map((v, t) => v * (dp[t] - avg));
        for (let t = 0; t < n; t++) for (let i = 0; i < hs; i++) {
          const o = t * kd + g * hs + i;
          wq[h * hs + i] += (ds[t] * c.kf[o]) / Math.sqrt(hs);
          wK[o] += (ds[t] * qf[i]) / Math.sqrt(hs);
          wV[o] += p[t] * dof[i];
        }
      }
      const gotK = Float64Array.from(dK, (v, i) => (v - dK0[i]) / Q24), gotV = Float64Array.from(dV, (v, i) => (v - dV0[i]) / Q24);
      const maxNorm = (got: ArrayLike<number>, want: ArrayLike<number>) => {
        let e = 0, m = 0;
        for (let i = 0; i < want.length; i++) { e = Math.max(e, Math.abs(got[i] - want[i]) - 1 / Q24); m = Math.max(m, Math.abs(want[i])); }
        return m === 0 ? e : e / m;
      };
      const eq = maxNorm(Float64Array.from(dq, (v) => v / Q24), wq), eK = maxNorm(gotK, wK), eV = maxNorm(gotV, wV);
      note(`attentionBackward ${nHeads}/${nKv}x${hs} n${n} dout ${dmag}: max error / max |want| (after 1 ulp) dq ${eq.toExponential(2)} dK ${eK.toExponential(2)} dV ${eV.toExponential(2)}`);
      worst.dq = Math.max(worst.dq, eq); worst.dK = Math.max(worst.dK, eK); worst.dV = Math.max(worst.dV, eV);
      // positions after the query are untouched
      for (let i = n * kd; i < seq * kd; i++) { assert.is(dK[i], dK0[i]); assert.is(dV[i], dV0[i]); }
    }
  }
  note('attentionBackward worst', worst);
  assert.ok(worst.dV < 1e-3 && worst.dq < 2e-3 && worst.dK < 1e-3, JSON.stringify(worst));
});

test('attentionBackward: a single position has p = 1, so dq = dK = 0 and dV += dout exactly', () => {
  const r = new Rng(29, 'att1');
  const hs = 16, c = fillCache(r, 1, 1, hs, 1.5, 1, 4), att = modelConstants(hs, hs).attScale;
  const q = randQ(r, hs, 1, 16), dout = randQ(r, hs, 0.3, 24), dq = new Int32Array(hs).fill(7), dK = new Int32Array(4 * hs), dV = new Int32Array(4 * hs);
  attentionBackward(dq, dK, dV, dout, q, 0, c.kc, c.kM, c.kE, c.vc, c.vM, c.vE, 1, 1, hs, att.m, att.e, exp2Table(), new AttentionBackwardScratch(hs, 4));
  assert.ok(dq.every((v) => v === 0) && dK.every((v) => v === 0));
  assert.equal([...dV.subarray(0, hs)], [...dout]);
});

test('attentionBackward at max magnitude (hs 256, 1024 positions, |dout| = 2^31 - 1): no overflow, saturates correctly', () => {
  const hs = 256, seq = 1024, n = seq, att = modelConstants(hs, hs).attScale;
  const kc = new Int16Array(seq * hs).fill(2047), vc = new Int8Array(seq * hs).fill(127);
  for (let i = 0; i < hs; i++) vc[(seq - 1) * hs + i] = -127; // the last position differs: dp is not constant
  const kM = new Int16Array(seq).fill(32767), kE = new Int8Array(seq).fill(20);
  const vM = new Int16Array(seq).fill(32767), vE = new Int8Array(seq).fill(20);
  const q = new Int32Array(hs).fill(I32_MAX), dout = new Int32Array(hs).fill(I32_MAX);
  const dq = new Int32Array(hs), dK = new Int32Array(seq * hs), dV = new Int32Array(seq * hs);
  attentionBackward(dq, dK, dV, dout, q, n - 1, kc, kM, kE, vc, vM, vE, 1, 1, hs, att.m, att.e, exp2Table(), new AttentionBackwardScratch(hs, seq));
  // All scores equal: p = 1/1024, dV = dout/1024 = 2^21 (exact up to the 1/sum scale's rounding).
  for (const v of dV) assert.ok(Math.abs(v - I32_MAX / 1024) <= 2048, `dV ${v}`);
  // dp_t = sum_i 127 sV (times dout): +c for t < 1023, -c for the last; avg = c (1 - 2/1024);
  // ds_t = p (dp_t - avg) = p c 2/1024 for t < 1023 and -p c 2046/1024 for the last.
  const sV = 32767 * 2 ** -20, sK = 32767 * 2 ** -20, c = hs * 127 * sV * (I32_MAX / Q24), p = 1 / 1024;
  const ds = (t: number) => (t < n - 1 ? (p * c * 2) / 1024 : (-p * c * 2046) / 1024);
  // q12 = 2047 with scale q / 2047 = 128 / 2047 (q = I32_MAX / 2^16 ~ 32768)
  const qf = (I32_MAX / Q16) / 2047 * 2047;
  for (let t = 0; t < n; t += 97) {
    const want = (ds(t) * qf) / Math.sqrt(hs);
    const exp = Math.max(-128, Math.min(128, want));
    assert.ok(Math.abs(dK[t * hs] / Q24 - exp) <= Math.abs(exp) * 2e-3 + 1e-6, `dK[${t}] ${dK[t * hs] / Q24} vs ${exp}`);
  }
  // dq = sum_t ds_t k_t / sqrt(hs) = 0 in exact arithmetic (sum_t ds_t = 0 and k_t is constant).
  let sumAbs = 0;
  for (let t = 0; t < n; t++) sumAbs += Math.abs(ds(t)) * 2047 * sK / Math.sqrt(hs);
  for (const v of dq) assert.ok(Math.abs(v / Q24) <= sumAbs * 2e-3, `dq ${v / Q24} (scale ${sumAbs})`);
});

test('rmsnormBackward and gemvQ8T at max magnitude: saturate with the right sign, no wrap', () => {
  const n = 64, c = modelConstants(n, 8), g = new Int16Array(n).fill(32767);
  const x = Int32Array.from({ length: n }, (_, i) => (i % 2 ? I32_MAX : -I32_MAX));
  const dy = new Int32Array(n).fill(I32_MAX), dx = new Int32Array(n);
  rmsnormBackward(dx, dy, x, n, g, 12, c.rmsEpsQ32, c.rmsSqShift, c.rmsDimScale.m, c.rmsDimScale.e, new RmsnormBackwardScratch(n));
  // |x| constant: S = sum g dy x = 0, dx = r g dy = (2^16 / 2^31) * 8 * 128 = 2^-5: exact-ish, not saturated.
  for (const v of dx) assert.ok(Math.abs(v / Q24 - (Q16 / I32_MAX) * (32767 / 4096) * (I32_MAX / Q24)) < 1e-5, `dx ${v}`);
  // A tiny x (eps-dominated): r = 1/sqrt(eps) ~ 316, times g 8 and dy 128: term1 saturates.
  const dx2 = new Int32Array(n), dyS = Int32Array.from({ length: n }, (_, i) => (i % 3 ? I32_MAX : -I32_MAX));
  rmsnormBackward(dx2, dyS, new Int32Array(n).fill(1), n, g, 12, c.rmsEpsQ32, c.rmsSqShift, c.rmsDimScale.m, c.rmsDimScale.e, new RmsnormBackwardScratch(n));
  // (each term saturates on its own and dx = satSub(term1, term2): the sign is right, no wrap)
  for (let i = 0; i < n; i++) assert.ok(dyS[i] > 0 ? dx2[i] >= 1 << 30 : dx2[i] <= -(1 << 30), `dx2 ${i}: ${dx2[i]}`);
  // gemvQ8T with d = 8260 rows of +-127 and q = +-2047: |acc| = 8260 * 127 * 2047 < 2^31, exact.
  const d = 8260, w = new Int8Array(d * 2).fill(127), gq = new Int32Array(d).fill(I32_MAX);
  for (let r = 0; r < d; r++) w[r * 2 + 1] = -127;
  const out = new Int32Array(2);
  gemvQ8T(out, w, new Int16Array(d).fill(16384), new Int8Array(d).fill(40), gq, 24, 2, d, 24, new GemvTScratch(d, 2));
  const want = d * 127 * (I32_MAX / Q24) * 2 ** -26; // sW = 2^14 2^-40
  assert.ok(Math.abs(out[0] / Q24 - want) <= want * 2 ** -12, `${out[0] / Q24} vs ${want}`);
  assert.is(out[1], -out[0]);
});

// ---- 7. gseOuterAcc ----

test('gseOuterAcc: exact (left shifts), round half up (right shifts), saturating', () => {
  const r = new Rng(30, 'outer');
  for (let k = 0; k < 200; k++) {
    const G = 16, rows = G * int(r, 1, 2), cols = G * int(r, 1, 3), accFrac = 20;
    const aM = Int8Array.from({ length: rows }, () => int(r, -127, 127)), bM = Int8Array.from({ length: cols }, () => int(r, -127, 127));
    const lo = k % 2 ? -30 : -16;
    const aE = Int8Array.from({ length: rows / G }, () => int(r, lo, -8)), bE = Int8Array.from({ length: cols / G }, () => int(r, lo, 0));
    const acc0 = Int32Array.from({ length: rows * cols }, () => (k % 5 === 0 ? int(r, -I32_MAX, I32_MAX) : int(r, -1e6, 1e6)));
    const acc = Int32Array.from(acc0);
    gseOuterAcc(acc, accFrac, aM, aE, bM, bE, rows, cols, G);
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) {
      const x = aM[i] * bM[j] * 2 ** (aE[i / G | 0] + bE[j / G | 0] + accFrac); // exact in float64
      assert.is(acc[i * cols + j], sat(acc0[i * cols + j] + sat(Math.floor(x + 0.5))), `${k} ${i},${j}`);
    }
  }
});

// ---- 8. sgdMomentum ----

test('sgdMomentum equals a BigInt computation over several steps (incl. saturation)', () => {
  const r = new Rng(31, 'sgd');
  const M = BigInt(I32_MAX), satB = (v: bigint) => (v > M ? M : v < -M ? -M : v);
  const fl = (a: bigint, s: number) => (a >= 0n ? a >> BigInt(s) : -((-a + (1n << BigInt(s)) - 1n) >> BigInt(s))); // floor(a / 2^s)
  for (let k = 0; k < 40; k++) {
    const n = int(r, 1, 64), mom = [0, 1, 3, 5][k % 4], lrM = int(r, 16384, 32767), lrE = int(r, 0, 40);
    const big = k % 6 === 0;
    const w = Int32Array.from({ length: n }, () => int(r, big ? -I32_MAX : -(1 << 26), big ? I32_MAX : 1 << 26));
    const v = Int32Array.from({ length: n }, () => int(r, big ? -I32_MAX : -(1 << 20), big ? I32_MAX : 1 << 20));
    let bw = Array.from(w, BigInt), bv = Array.from(v, BigInt);
    for (let step = 0; step < 4; step++) {
      const g = Int32Array.from({ length: n }, () => int(r, big ? -I32_MAX : -(1 << 22), big ? I32_MAX : 1 << 22));
      const bg = Array.from(g, BigInt);
      sgdMomentum(w, v, g, n, lrM, lrE, mom);
      const sh = lrE + 20 - 24;
      bv = bv.map((x, i) => satB(x - (mom > 0 ? fl(x + (1n << BigInt(mom - 1)), mom) : 0n) + bg[i]));
      bw = bw.map((x, i) => {
        const p = bv[i] * BigInt(lrM);
        const d = sh >= 0 ? satB(fl(p + (sh > 0 ? 1n << BigInt(sh - 1) : 0n), sh)) : satB(satB(p) << BigInt(-sh));
        return satB(x - d);
      });
      assert.equal(Array.from(v, BigInt), bv, `v ${k} step ${step}`);
      assert.equal(Array.from(w, BigInt), bw, `w ${k} step ${step}`);
      assert.ok(g.every((x) => x === 0), 'gacc zeroed');
    }
  }
});

test.run();
