// Each integer kernel against an independent float64 computation, within the error bound
// docs/integer-spec.md states for it, plus max-magnitude inputs at the largest supported
// shapes (nothing may overflow: results must still be right, not just finite).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Rng } from '../compiler/synth/prng.ts';
import { I32_MAX } from '../runtime/kernels/reference/arith.ts';
import { ACT_QMAX, INV_ACT_QMAX_E, INV_ACT_QMAX_M, INV_QMAX8_E, INV_QMAX8_M, QMAX8 } from '../runtime/kernels/reference/constants.ts';
import { quantizeAct } from '../runtime/kernels/reference/quantize_act.ts';
import { rmsnormQuant } from '../runtime/kernels/reference/rmsnorm.ts';
import { gemvQ8 } from '../runtime/kernels/reference/gemv_q8.ts';
import { ropeQ16 } from '../runtime/kernels/reference/rope.ts';
import { exp2Neg, softmaxExp2 } from '../runtime/kernels/reference/softmax.ts';
import { siluQ16, swigluQ16 } from '../runtime/kernels/reference/silu.ts';
import { AttentionScratch, attention } from '../runtime/kernels/reference/attention.ts';
import { embeddingLookup } from '../runtime/kernels/reference/embedding.ts';
import { residualAdd } from '../runtime/kernels/reference/residual.ts';
import { argmaxInt } from '../runtime/kernels/reference/argmax.ts';
import { SamplerScratch, sampleInt } from '../runtime/kernels/reference/sampler.ts';
import { Xorshift64Star } from '../runtime/kernels/reference/rng.ts';
import { exp2Table, modelConstants, ropeTables, siluTable } from '../compiler/quantize/tables.ts';
import { quantizeGain } from '../compiler/quantize/weights.ts';
import { Rng as FloatRng, sampleMult } from '../compiler/reference/float/sampler.ts';
import { fillCache, sv } from './helpers/kv-cache.ts';

const Q16 = 65536;
const randQ16 = (r: Rng, n: number, mag: number) => Int32Array.from({ length: n }, () => Math.round(r.gauss() * mag * Q16));

test('quantizeAct: |q| <= qmax, the max maps to qmax, error <= half a step (+ normalization)', () => {
  const r = new Rng(1, 'qa');
  for (const [qmax, invM, invE] of [[QMAX8, INV_QMAX8_M, INV_QMAX8_E], [ACT_QMAX, INV_ACT_QMAX_M, INV_ACT_QMAX_E]]) {
    for (const mag of [1e-4, 0.01, 1, 30, 3000]) {
      const n = 64 + (r.next() % 700), v = randQ16(r, n, mag);
      const q = new Int16Array(n), sc = new Int32Array(2);
      quantizeAct(q, 0, v, 0, n, 16, qmax, invM, invE, sc, 0);
      const s = sv(sc);
      let amax = 0, qabs = 0;
      for (let i = 0; i < n; i++) { amax = Math.max(amax, Math.abs(v[i])); qabs = Math.max(qabs, Math.abs(q[i])); }
      assert.ok(qabs >= qmax - 1 && qabs <= qmax, `max |q| ${qabs}`);
      assert.ok(Math.abs(s / (amax / Q16 / qmax) - 1) < 2 ** -12, 'scale = amax / qmax');
      for (let i = 0; i < n; i++) assert.ok(Math.abs(q[i] * s - v[i] / Q16) <= s * (0.5 + qmax * 2 ** -13) + 1 / Q16, `element ${i}`);
    }
  }
  const q = new Int8Array(4), sc = new Int32Array(2);
  quantizeAct(q, 0, new Int32Array(4), 0, 4, 16, QMAX8, INV_QMAX8_M, INV_QMAX8_E, sc, 0);
  assert.equal(Array.from(q), [0, 0, 0, 0]);
  // Max-magnitude input: |v| = I32_MAX, 12-bit: no overflow in v' * r.
  const big = Int32Array.from({ length: 8 }, (_, i) => (i % 2 ? I32_MAX : -I32_MAX) >> (i >> 1));
  const qb = new Int16Array(8);
  quantizeAct(qb, 0, big, 0, 8, 16, ACT_QMAX, INV_ACT_QMAX_M, INV_ACT_QMAX_E, sc, 0);
  for (let i = 0; i < 8; i++) assert.ok(Math.abs(qb[i] - (big[i] * 2047) / I32_MAX) <= 0.5 + 2047 * 2 ** -14, `big ${i}: ${qb[i]}`);
  assert.is(qb[1], 2047);
});

function floatRms(x: Int32Array, g: Float64Array): Float64Array {
  let ss = 0;
  for (const v of x) ss += (v / Q16) ** 2;
  const r = 1 / Math.sqrt(ss / x.length + 1e-5);
  return Float64Array.from(x, (v, i) => (v / Q16) * r * g[i]);
}

test('rmsnormQuant: q * scale matches g * x / sqrt(mean x^2 + eps) (incl. tiny and max-magnitude x)', () => {
  const r = new Rng(2, 'rms');
  for (const dim of [64, 288, 768, 2048]) {
    const k = modelConstants(dim, 64);
    const gf = Float32Array.from({ length: dim }, () => 1 + 0.5 * r.gauss());
    const { q: g, frac } = quantizeGain(gf);
    const gq = Float64Array.from(g, (v) => v * 2 ** -frac);
    const cases = [randQ16(r, dim, 1), randQ16(r, dim, 200), randQ16(r, dim, 0.0005),
      Int32Array.from({ length: dim }, (_, i) => (i % 3 ? I32_MAX : -I32_MAX)), Int32Array.from({ length: dim }, (_, i) => (i === 5 ? 1 : 0))];
    for (const x of cases) {
      const q = new Int16Array(dim), sc = new Int32Array(2), u = new Int32Array(dim);
      rmsnormQuant(q, x, dim, g, frac, k.rmsEpsQ32, k.rmsSqShift, k.rmsDimScale.m, k.rmsDimScale.e, u, sc, 0);
      const y = floatRms(x, gq), s = sv(sc);
      const ymax = y.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
      for (let i = 0; i < dim; i++) {
        // half a quantization step, plus the scale's relative error (< 2^-11: a handful of
        // 2^-14 roundings and the truncated squares) times |y|.
        assert.ok(Math.abs(q[i] * s - y[i]) <= 0.5 * s + ymax * 2 ** -11 + 1e-9, `dim ${dim} i ${i}: ${q[i] * s} vs ${y[i]}`);
      }
    }
  }
});

test('gemvQ8: exactly round(acc * sW * sX * 2^16), at real and maximal shapes and magnitudes', () => {
  const r = new Rng(3, 'gemv');
  for (const [d, n, max] of [[64, 172, false], [768, 2048, false], [32, 2048, true], [4, 8260, true]] as const) {
    const w = Int8Array.from({ length: d * n }, (_, i) => (max ? (i % 2 ? 127 : -127) : (r.next() % 255) - 127));
    const x = Int16Array.from({ length: n }, (_, i) => (max ? (i % 2 ? 2047 : -2047) : (r.next() % 4095) - 2047));
    const wM = Int16Array.from({ length: d }, () => 16384 + (r.next() % 16384));
    const wE = Int8Array.from({ length: d }, () => 20 + (r.next() % 8));
    const xM = 16384 + (r.next() % 16384), xE = 16 + (r.next() % 6);
    const out = new Int32Array(d);
    gemvQ8(out, w, wM, wE, x, xM, xE, n, d, 16);
    for (let o = 0; o < d; o++) {
      let acc = 0;
      for (let j = 0; j < n; j++) acc += w[o * n + j] * x[j];
      assert.ok(Math.abs(acc) < 2 ** 31, 'accumulator bound');
      const exact = acc * wM[o] * xM * 2 ** -(wE[o] + xE - 16);
      const want = Math.max(-I32_MAX, Math.min(I32_MAX, Math.floor(exact + 0.5)));
      assert.ok(Math.abs(out[o] - want) <= (Math.abs(exact) > 2 ** 50 ? 2 : 0), `row ${o}: ${out[o]} vs ${want}`);
    }
  }
});

test('ropeQ16 with the baked table matches a float rotation', () => {
  const r = new Rng(4, 'rope');
  for (const [seq, hs, n] of [[512, 8, 64], [1024, 64, 768]]) {
    const { cos, sin } = ropeTables(seq, hs);
    for (const pos of [0, 1, 17, seq - 1]) {
      const v = randQ16(r, n, 3), orig = Float64Array.from(v, (x) => x / Q16);
      ropeQ16(v, n, hs, cos, sin, pos);
      for (let i = 0; i < n; i += 2) {
        const a = pos * 10000 ** (-(i % hs) / hs);
        const w0 = orig[i] * Math.cos(a) - orig[i + 1] * Math.sin(a), w1 = orig[i] * Math.sin(a) + orig[i + 1] * Math.cos(a);
        const bound = 1 / Q16 + (Math.abs(orig[i]) + Math.abs(orig[i + 1])) * 2 ** -15;
        assert.ok(Math.abs(v[i] / Q16 - w0) <= bound && Math.abs(v[i + 1] / Q16 - w1) <= bound, `pos ${pos} i ${i}`);
      }
    }
  }
  // Max magnitude saturates instead of wrapping.
  const { cos, sin } = ropeTables(4, 2);
  const v = Int32Array.of(I32_MAX, I32_MAX);
  ropeQ16(v, 2, 2, cos, sin, 1); // 45-ish degrees: |a cos - b sin| fits, a sin + b cos exceeds
  assert.ok(v[1] === I32_MAX && Math.abs(v[0] / I32_MAX - (Math.cos(1) - Math.sin(1))) < 1e-4);
});

test('softmaxExp2: e / sum equals the base-2 softmax within 2^-12', () => {
  const r = new Rng(5, 'softmax');
  const t = exp2Table();
  for (const n of [1, 7, 256, 1024]) {
    for (const spread of [0.5, 4, 40]) {
      const s = Int32Array.from({ length: n }, () => Math.round(r.gauss() * spread * 1024));
      const e = new Int32Array(n);
      const sum = softmaxExp2(e, s, n, t);
      assert.ok(sum >= 16384 && sum <= n * 16384);
      const max = Math.max(...s);
      const f = Array.from(s, (v) => 2 ** ((v - max) / 1024)), fs = f.reduce((a, b) => a + b, 0);
      for (let i = 0; i < n; i++) assert.ok(Math.abs(e[i] / sum - f[i] / fs) <= 2 ** -12, `n ${n} i ${i}`);
    }
  }
  assert.is(exp2Neg(0, t), 16384);
  assert.is(exp2Neg(1024, t), 8192);
  assert.is(exp2Neg(31 << 10, t), 0);
  assert.is(exp2Neg(I32_MAX, t), 0);
  // Scores spanning the whole int32 range: the difference saturates, no wrap.
  const e = new Int32Array(2);
  assert.is(softmaxExp2(e, Int32Array.of(I32_MAX, -I32_MAX), 2, t), 16384);
  assert.equal(Array.from(e), [16384, 0]);
});

test('siluQ16 within 2 LSB of silu over [-20, 20]; swiglu saturates', () => {
  const t = siluTable();
  for (let x = -20 * Q16; x <= 20 * Q16; x += 37) {
    const xf = x / Q16, want = (xf / (1 + Math.exp(-xf))) * Q16;
    assert.ok(Math.abs(siluQ16(x, t) - want) <= 2, `x = ${xf}: ${siluQ16(x, t)} vs ${want}`);
  }
  const h1 = Int32Array.of(I32_MAX, -I32_MAX, 3 * Q16, -3 * Q16), h3 = Int32Array.of(I32_MAX, I32_MAX, 2 * Q16, 2 * Q16);
  swigluQ16(h1, h3, 4, t);
  assert.is(h1[0], I32_MAX);
  assert.is(h1[1], 0);
  assert.ok(Math.abs(h1[2] / Q16 - 2 * 3 / (1 + Math.exp(-3))) < 1e-4);
  assert.ok(Math.abs(h1[3] / Q16 - (2 * -3) / (1 + Math.exp(3))) < 1e-4);
});

test('attention matches float attention over the same dequantized cache (GQA, long and short)', () => {
  const r = new Rng(6, 'att');
  const exp2 = exp2Table();
  for (const [nHeads, nKv, hs, n, seq] of [[8, 4, 8, 40, 512], [12, 12, 64, 1024, 1024], [4, 2, 16, 1, 16]]) {
    const k = modelConstants(nHeads * hs, hs);
    const c = fillCache(r, n, nKv, hs, 1.5, 1, seq);
    const q = randQ16(r, nHeads * hs, 1.5), out = new Int32Array(nHeads * hs);
    attention(out, q, n - 1, c.kc, c.kM, c.kE, c.vc, c.vM, c.vE, nHeads, nKv, hs, k.attScale.m, k.attScale.e, exp2, new AttentionScratch(hs, seq));
    const kd = nKv * hs, group = nHeads / nKv;
    for (let h = 0; h < nHeads; h++) {
      const g = Math.floor(h / group);
      const sc = Array.from({ length: n }, (_, t) => {
        let s = 0;
        for (let i = 0; i < hs; i++) s += (q[h * hs + i] / Q16) * c.kf[t * kd + g * hs + i];
        return s / Math.sqrt(hs);
      });
      const m = Math.max(...sc), p = sc.map((s) => Math.exp(s - m)), ps = p.reduce((a, b) => a + b, 0);
      let vmax = 0;
      for (let i = 0; i < hs; i++) {
        let want = 0;
        for (let t = 0; t < n; t++) { want += (p[t] / ps) * c.vf[t * kd + g * hs + i]; vmax = Math.max(vmax, Math.abs(c.vf[t * kd + g * hs + i])); }
        // q's 12-bit rounding moves scores by ~|q||k| 2^-12; the rest is < 1e-3 relative.
        assert.ok(Math.abs(out[h * hs + i] / Q16 - want) <= 3e-3 * vmax + 2 / Q16, `head ${h} i ${i}: ${out[h * hs + i] / Q16} vs ${want}`);
      }
    }
  }
});

test('attention at max magnitude, 1024 positions, head size 256: no overflow', () => {
  const hs = 256, seq = 1024, nKv = 1;
  const kc = new Int16Array(seq * hs).fill(2047), vc = new Int8Array(seq * hs).fill(127);
  const kM = new Int16Array(seq).fill(32767), kE = new Int8Array(seq).fill(6);
  const vM = new Int16Array(seq).fill(32767), vE = new Int8Array(seq).fill(6); // v = 127 * 32767 * 2^-6 ~ 65k, saturates Q16
  for (let i = 0; i < hs; i++) vc[(seq - 1) * hs + i] = -127;
  const q = new Int32Array(hs).fill(I32_MAX);
  const out = new Int32Array(hs);
  const k = modelConstants(hs, hs);
  attention(out, q, seq - 1, kc, kM, kE, vc, vM, vE, 1, nKv, hs, k.attScale.m, k.attScale.e, exp2Table(), new AttentionScratch(hs, seq));
  // All scores equal: the mean of 1023 x (+v) and 1 x (-v) is ~ +v, which saturates Q16.
  assert.ok(out.every((v) => v === I32_MAX));
  vM.fill(16384); vE.fill(20); // v = 127 * 2^-6 ~ 1.98
  attention(out, q, seq - 1, kc, kM, kE, vc, vM, vE, 1, nKv, hs, k.attScale.m, k.attScale.e, exp2Table(), new AttentionScratch(hs, seq));
  const want = 127 * 2 ** -6 * (1022 / 1024);
  assert.ok(out.every((v) => Math.abs(v / Q16 - want) < 1e-3), `${out[0] / Q16} vs ${want}`);
});

test('embedding lookup, residual add, argmax ties', () => {
  const emb = Int8Array.of(1, -2, 127, -127, 0, 5), m = Int16Array.of(16384, 20000, 30000), e = Int8Array.of(20, 22, 24);
  const out = new Int32Array(2);
  embeddingLookup(out, emb, m, e, 1, 2);
  assert.equal(Array.from(out), [Math.floor(127 * 20000 * 2 ** -6 + 0.5), Math.floor(-127 * 20000 * 2 ** -6 + 0.5)]);
  const x = Int32Array.of(I32_MAX - 5, -I32_MAX + 5, 7), y = Int32Array.of(100, -100, -9);
  residualAdd(x, y, 3);
  assert.equal(Array.from(x), [I32_MAX, -I32_MAX, -2]);
  assert.is(argmaxInt(Int32Array.of(3, 9, 9, 1, 9), 5), 1);
  assert.is(argmaxInt(Int32Array.of(-5, -5), 2), 0);
});

test('sampler: greedy at T = 0; same seed, same tokens; distribution and top-p match float', () => {
  const exp2 = exp2Table();
  const r = new Rng(7, 'sampler');
  const n = 50;
  const logits = Int32Array.from({ length: n }, () => Math.round(r.gauss() * 2 * Q16));
  const scratch = new SamplerScratch(n);
  assert.is(sampleInt(logits, n, 0, 0, new Xorshift64Star(1, 0), exp2, scratch), argmaxInt(logits, n));
  const draw = (seed: number, T: number, p: number, k: number) => {
    const rng = new Xorshift64Star(seed, 0);
    return Array.from({ length: k }, () => sampleInt(logits, n, T, p, rng, exp2, scratch));
  };
  assert.equal(draw(42, Q16, 0, 200), draw(42, Q16, 0, 200));
  assert.not.equal(draw(42, Q16, 0, 50), draw(43, Q16, 0, 50));
  // Same coins as llama2.c's float sampler: the same token except where the coin falls
  // within rounding distance of a cdf step.
  for (const T of [0.7, 1, 1.5]) {
    const pf = Array.from(logits, (l) => l / Q16 / T), m = Math.max(...pf);
    const e = pf.map((v) => Math.exp(v - m)), es = e.reduce((a, b) => a + b, 0), probs = e.map((v) => v / es);
    const ir = new Xorshift64Star(42, 0), fr = new FloatRng(42n);
    let same = 0;
    for (let i = 0; i < 2000; i++) {
      const ti = sampleInt(logits, n, Math.round(T * Q16), 0, ir, exp2, scratch);
      if (ti === sampleMult(probs, fr.f32())) same++;
    }
    assert.ok(same >= 1990, `T ${T}: ${same}/2000 equal to the float sampler`);
  }
  // top-p: every sampled token is inside the float nucleus (computed with a margin).
  const pf = Array.from(logits, (l) => l / Q16), m = Math.max(...pf);
  const e = pf.map((v) => Math.exp(v - m)), es = e.reduce((a, b) => a + b, 0);
  const order = e.map((v, i) => i).sort((a, b) => e[b] - e[a] || a - b);
  let cum = 0;
  const nucleus = new Set<number>();
  for (const i of order) { nucleus.add(i); cum += e[i] / es; if (cum > 0.9 + 1e-3) break; }
  for (const t of draw(5, Q16, Math.round(0.9 * Q16), 500)) assert.ok(nucleus.has(t), `token ${t} outside the nucleus`);
  // Ties: equal probabilities are ordered by token id, so a tiny top-p picks the lowest id.
  const tied = Int32Array.of(0, 5 * Q16, 1, 5 * Q16, 5 * Q16);
  const s5 = new SamplerScratch(5);
  for (let i = 0; i < 20; i++) assert.is(sampleInt(tied, 5, Q16, 1, new Xorshift64Star(i + 1, 0), exp2, s5), 1);
});

test.run();
