// tier: slow (over ~10 s; npm run test:quick skips it, npm test runs it)
// AWQ (compiler/quantize/awq.ts): the fold leaves the float model's function unchanged,
// the α search keeps α = 0 when scaling cannot help, on a real layer the chosen scales lower
// the output error on held-out calibration text (measured here with the format's own round
// trip and a Hessian the search never saw), int8-only plans are refused, and the bundle
// bytes are deterministic.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { haveModels, model } from './helpers/models.ts';
import { openModel } from '../compiler/import/open-model.ts';
import { loadWeights, type FloatWeights } from '../compiler/import/graph.ts';
import { FloatTransformer } from '../compiler/reference/float/forward.ts';
import { calibrateStats, calibrationOfTokens, hessianKey } from '../compiler/quantize/calibrate.ts';
import { awqFold, awqScales, planRoundTrip, searchAlpha } from '../compiler/quantize/awq.ts';
import { quantizeInt8 } from '../compiler/quantize/int8.ts';
import { formatNamed } from '../compiler/quantize/formats/registry.ts';
import { parsePlan } from '../compiler/plan/plan.ts';
import { EdgeqError } from '../compiler/util/errors.ts';
import { Rng } from '../compiler/synth/prng.ts';

const load = (name: string): FloatWeights => loadWeights(openModel(model(name)));

test('the fold is exact in float: folded, unquantized weights give the original logits', () => {
  if (!haveModels) return;
  // babyllama936K: its FFN width (352) takes g32, so all four places get low-bit matrices.
  const w = load('babyllama936K.bin'), cal = { sequences: 2, length: 64 };
  const r = awqFold(w, calibrateStats(w, cal), parsePlan('uniform:2g32'));
  // Scales were applied at all four places (else the comparison could not fail).
  for (const p of ['attn', 'wo', 'ffn', 'w2']) assert.ok([...r.alphas].some(([k, a]) => k.endsWith(p) && a > 0), `some α > 0 at ${p}`);
  assert.not.equal(r.weights.blocks[0].rmsAtt, w.blocks[0].rmsAtt);
  const a = new FloatTransformer(w, { accumulate: 'float64' }), b = new FloatTransformer(r.weights, { accumulate: 'float64' });
  let worst = 0, scale = 0;
  for (const [pos, tok] of [1, 40, 33, 7, 100, 91, 12, 60].entries()) {
    const la = Array.from(a.forward(tok, pos)), lb = Array.from(b.forward(tok, pos));
    la.forEach((v, i) => { worst = Math.max(worst, Math.abs(v - lb[i])); scale = Math.max(scale, Math.abs(v)); });
  }
  assert.ok(worst < 1e-4 * scale, `max logit difference ${worst} (largest logit ${scale})`);
  // The Hessians GPTQ gets after the fold are those of the folded model's own inputs.
  const again = calibrateStats(r.weights, cal).hessians;
  for (const [k, h] of again) {
    const want = r.hessians.get(k)!;
    let d = 0, m = 0;
    h.forEach((v, i) => { d = Math.max(d, Math.abs(v - want[i])); m = Math.max(m, Math.abs(v)); });
    assert.ok(d < 1e-6 * m, `${k}: Hessian differs by ${d} (largest ${m})`);
  }
});

// A group of one random 32 x 64 matrix and its round trip at 2 bits g32.
const rng = new Rng(15, 'awq');
const cols = 64, rows = 32;
const mat = Float32Array.from({ length: rows * cols }, () => 0.05 * rng.gauss());
const rt = planRoundTrip(parsePlan('uniform:2g32'), 0, 'w1', cols).rt;
const diagH = (d: (j: number) => number) => { const h = new Float64Array(cols * cols); for (let j = 0; j < cols; j++) h[j * cols + j] = d(j); return h; };

test('α search: constant activations keep α = 0; one salient channel gets α > 0 and a smaller error', () => {
  const flat = searchAlpha([{ w: mat, rows, cols, rt }], new Float64Array(cols).fill(0.7), diagH(() => 1));
  assert.is(flat.alpha, 0);
  assert.ok(flat.s.every((v) => v === 1));
  // Channel 5 carries activations 30x the others': its weights' error costs 900x more.
  const a = Float64Array.from({ length: cols }, (_, j) => (j === 5 ? 30 : 1));
  const sal = searchAlpha([{ w: mat, rows, cols, rt }], a, diagH((j) => a[j] ** 2));
  assert.ok(sal.alpha > 0 && sal.err < 0.9 * sal.err0, `α ${sal.alpha}, error ${sal.err} vs ${sal.err0} at α = 0`);
});

test('calibrationOfTokens: sequences of up to 256 tokens, rounded up', () => {
  assert.equal(calibrationOfTokens(32), { sequences: 1, length: 32 });
  assert.equal(calibrationOfTokens(300), { sequences: 2, length: 256 });
  assert.equal(calibrationOfTokens(8192), { sequences: 32, length: 256 });
});

test('awqScales: a^α normalized to max·min = 1, α = 0 gives ones', () => {
  const s = awqScales(Float64Array.of(1, 4, 16), 0.5);
  assert.ok(Math.abs(s[0] - 0.5) < 1e-12 && Math.abs(s[1] - 1) < 1e-12 && Math.abs(s[2] - 2) < 1e-12, `${s}`);
  assert.equal(Array.from(awqScales(Float64Array.of(1, 4, 16), 0)), [1, 1, 1]);
});

test('on real layers, AWQ lowers the quantized output error on held-out calibration text', () => {
  if (!haveModels) return;
  const w = load('babyllama936K.bin'), plan = parsePlan('uniform:3g32');
  const r = awqFold(w, calibrateStats(w, { sequences: 4, length: 128, seed: 1 }), plan);
  const held = calibrateStats(w, { sequences: 4, length: 128, seed: 2 }).hessians;
  const f = formatNamed('q3')!, c = w.config;
  // Σ over the held-out inputs of ||(W − Ŵ) x||² = Σ_rows Δ H Δᵀ, Ŵ the stored matrix mapped back to the original basis.
  const err = (orig: Float32Array, stored: Float32Array, n: number, h: Float64Array, s: Float64Array | undefined) => {
    const rows = orig.length / n, dq = f.dequantize(f.quantize(stored, rows, n, 32).data, rows, n, 32);
    let e = 0;
    const d = new Float64Array(n);
    for (let o = 0; o < rows; o++) {
      for (let j = 0; j < n; j++) d[j] = dq[o * n + j] / (s ? s[j] : 1) - orig[o * n + j];
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) e += d[i] * h[i * n + j] * d[j];
    }
    return e;
  };
  let plain = 0, awq = 0;
  for (let l = 0; l < c.nLayers; l++) {
    const key = hessianKey(l, 'w2'), h = held.get(key)!;
    plain += err(w.blocks[l].w2, w.blocks[l].w2, c.hiddenDim, h, undefined);
    awq += err(w.blocks[l].w2, r.weights.blocks[l].w2, c.hiddenDim, h, r.scales.get(key));
  }
  assert.ok(awq < 0.98 * plain, `w2 output error: AWQ ${awq} vs plain ${plain}`);
});

test('int8-only plans are refused; the same input gives the same bytes', () => {
  if (!haveModels) return;
  const w = load('stories260K.bin');
  const awq = { sequences: 2, length: 64 };
  assert.throws(() => quantizeInt8(w, { plan: parsePlan('uniform:8'), awq }), (e: unknown) => e instanceof EdgeqError && /AWQ.*int8/.test(e.message));
  assert.throws(() => quantizeInt8(w, { awq }), (e: unknown) => e instanceof EdgeqError && /AWQ/.test(e.message));
  const plan = parsePlan('uniform:3g32');
  const a = quantizeInt8(w, { plan, awq, gptq: {} }), b = quantizeInt8(w, { plan, awq, gptq: {} });
  assert.ok(a.tensors.every((t, i) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).equals(Buffer.from(b.tensors[i].data.buffer, b.tensors[i].data.byteOffset, b.tensors[i].data.byteLength))), 'same bytes');
  assert.ok(/ awq gptq$/.test(a.planMethod ?? ''), a.planMethod);
  // edgeq compile folds in place (weights and Hessians): the same bytes.
  const c = quantizeInt8(load('stories260K.bin'), { plan, awq: { ...awq, inPlace: true }, gptq: {} });
  assert.ok(a.tensors.every((t, i) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).equals(Buffer.from(c.tensors[i].data.buffer, c.tensors[i].data.byteOffset, c.tensors[i].data.byteLength))), 'in place: same bytes');
  // and not the plain quantizer's bytes: the fold changed the weights
  const p = quantizeInt8(w, { plan });
  assert.ok(a.tensors.some((t, i) => !Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).equals(Buffer.from(p.tensors[i].data.buffer, p.tensors[i].data.byteOffset, p.tensors[i].data.byteLength))));
});

test.run();
