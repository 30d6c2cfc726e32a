// The float LoRA reference (compiler/reference/float/lora.ts) and the shared adapter init
// (compiler/train/lora-init.ts): hand-written gradients against central finite
// differences, the forward against the float reference model, and training that learns.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openModel } from '../compiler/import/open-model.ts';
import { loadWeights, type FloatWeights } from '../compiler/import/graph.ts';
import { Tokenizer } from '../compiler/import/tokenizer.ts';
import { FloatTransformer } from '../compiler/reference/float/forward.ts';
import { FloatLoraTrainer } from '../compiler/reference/float/lora.ts';
import { Activations, FLOAT64, FloatModel } from '../compiler/reference/float/model.ts';
import { llama2cSpec } from '../compiler/import/model-spec.ts';
import { initLoraA, loraInitBound } from '../compiler/train/lora-init.ts';
import { model } from './helpers/models.ts';

let weights: FloatWeights | undefined;
const load = () => (weights ??= loadWeights(openModel(model('stories260K.bin'))));
// A sentence the model does not find trivial (made-up names and words), BOS first.
const TEXT = 'Once upon a time, a blue frog named Quib wanted to fly to the moon. He asked Zora the owl for help, but she only laughed and said no.';
const tokens = (n: number): Int32Array => {
  const ids = Tokenizer.load(model('tok512.bin')).encode(TEXT, { bos: true });
  if (ids.length < n) throw new Error(`test text has ${ids.length} tokens, need ${n}`);
  return Int32Array.from(ids.slice(0, n));
};

/** Teacher-forced mean cross-entropy of the float32 reference model, run token by token. */
function referenceLoss(w: FloatWeights, ids: Int32Array): number {
  const t = new FloatTransformer(w);
  let sum = 0;
  for (let p = 0; p + 1 < ids.length; p++) {
    const l = t.forward(ids[p], p);
    let max = -Infinity;
    for (const x of l) max = Math.max(max, x);
    let s = 0;
    for (const x of l) s += Math.exp(x - max);
    sum += Math.log(s) + max - l[ids[p + 1]];
  }
  return sum / (ids.length - 1);
}

test('initLoraA: bound is round(2^24/sqrt(din)), values uniform in ±bound, deterministic, streams differ', () => {
  for (const cols of [1, 2, 3, 64, 100, 288, 4096, 5120]) {
    const b = loraInitBound(cols), exact = 2 ** 24 / Math.sqrt(cols);
    assert.ok(Math.abs(b - exact) <= 0.5, `cols ${cols}: ${b} vs ${exact}`);
  }
  assert.is(loraInitBound(64), 2 ** 21);
  const a = initLoraA(16, 64, 7, 3), bound = 2 ** 21;
  assert.equal(a, initLoraA(16, 64, 7, 3));
  assert.not.equal(a, initLoraA(16, 64, 7, 4));
  assert.not.equal(a, initLoraA(16, 64, 8, 3));
  // A longer matrix starts with the shorter one (row-major generation): padding rows added
  // after the first r rows never change them.
  assert.equal(initLoraA(20, 64, 7, 3).subarray(0, a.length), a);
  let sum = 0, sq = 0, min = Infinity, max = -Infinity;
  const big = initLoraA(64, 64, 1, 0);
  for (const x of big) { sum += x; sq += x * x; min = Math.min(min, x); max = Math.max(max, x); }
  const n = big.length, mean = sum / n, sd = Math.sqrt(sq / n - mean * mean);
  assert.ok(min >= -bound && max <= bound, `${min}..${max}`);
  assert.ok(min < -0.99 * bound && max > 0.99 * bound, `range not covered: ${min}..${max}`);
  // Uniform on ±b: mean 0 (sd of the mean b/sqrt(3n) ≈ 0.009 b), sd b/sqrt(3).
  assert.ok(Math.abs(mean) < 0.04 * bound, `mean ${mean}`);
  assert.ok(Math.abs(sd / (bound / Math.sqrt(3)) - 1) < 0.03, `sd ${sd}`);
});

test('B = 0: loss equals the float32 reference model\'s teacher-forced cross-entropy, for any A', () => {
  const w = load(), ids = tokens(33);
  const ref = referenceLoss(w, ids);
  for (const seed of [1, 99]) {
    const got = new FloatLoraTrainer(w, { rank: 8, seqLen: 32, lr: 0.1, seed }).loss(ids);
    // float64 here vs float32 in the reference: measured relative difference at most 4.1e-7
    // (12 windows of 32 and 64 positions of the style data); 1e-5 leaves room, 1e-9 would not hold.
    assert.ok(Math.abs(got - ref) <= 1e-5 * ref, `seed ${seed}: ${got} vs ${ref}`);
  }
  // And the adapter really is inert: the same loss bit for bit whatever A is.
  assert.is(new FloatLoraTrainer(w, { rank: 4, seqLen: 32, lr: 0.1, seed: 5 }).loss(ids),
    new FloatLoraTrainer(w, { rank: 16, seqLen: 32, lr: 0.1, seed: 6 }).loss(ids));
});

/** stories260K with a non-llama2.c spec: θ, ε and llama3-style RoPE frequency factors. */
function withSpec(w: FloatWeights): FloatWeights {
  const hs = w.config.dim / w.config.nHeads;
  const ropeFreqFactors = Float32Array.from({ length: hs / 2 }, (_, i) => 1 + 2.5 * i);
  return { ...w, spec: { ...llama2cSpec(w.config), ropeTheta: 500000, normEps: Math.fround(1e-6), ropeFreqFactors } };
}

/** Checks 4 entries of every adapter tensor of the blocks matching `blocks` against central differences. */
function checkGradients(w: FloatWeights, blocks: RegExp): number {
  const ids = tokens(25);
  const tr = new FloatLoraTrainer(w, { rank: 4, seqLen: 24, lr: 0.1, seed: 3 });
  // B = 0 would make every A gradient 0; give B small seeded values first.
  let s = 12345;
  const rnd = () => { s = (Math.imul(s, 1103515245) + 12345) & 0x7fffffff; return s / 0x7fffffff - 0.5; };
  for (const t of tr.tensors()) if (t.name.endsWith('lora_b')) for (let i = 0; i < t.w.length; i++) t.w[i] = 0.1 * rnd();
  tr.lossAndGradient(ids);
  let checked = 0, worst = 0;
  for (const t of tr.tensors()) {
    if (!blocks.test(t.name)) continue;
    for (const i of [0, 5, Math.floor(t.w.length / 2) + 1, t.w.length - 1]) {
      const g = t.g[i], x0 = t.w[i], h = 1e-5;
      t.w[i] = x0 + h; const lp = tr.loss(ids);
      t.w[i] = x0 - h; const lm = tr.loss(ids);
      t.w[i] = x0;
      const fd = (lp - lm) / (2 * h);
      assert.ok(Math.abs(fd) > 1e-6, `${t.name}[${i}]: gradient ${fd} too small to test`);
      const rel = Math.abs(g - fd) / Math.abs(fd);
      worst = Math.max(worst, rel);
      assert.ok(rel < 1e-5, `${t.name}[${i}]: analytic ${g}, finite difference ${fd}, relative error ${rel}`);
      checked++;
    }
  }
  assert.ok(worst < 1e-5, `worst ${worst}`);
  return checked;
}

test('gradients of A and B (wq and wv, blocks 0, 2, 4) match central finite differences', () => {
  assert.is(checkGradients(load(), /^blocks\.[024]\./), 3 * 2 * 2 * 4);
});

// The backward turns RoPE back with its own coefficient table and recomputes the norms' ε
// terms from the recorded inverse roots: a spec the backward ignored would show here.
test('gradients match central finite differences under a non-default spec (θ = 500000, ε = 1e-6, frequency factors)', () => {
  assert.is(checkGradients(withSpec(load()), /^blocks\.[03]\./), 2 * 2 * 2 * 4);
});

// The LoRA pass records one slot per position, the reference reuses one slot: the same
// model (model.ts) in the same number mode must give the same bits either way, so an
// indexing fault of the recording path (slot offsets, the [head][t][j] attention layout,
// the adapter terms' rows) shows.
test('recording (LoRA pass) and slot-reusing (reference) forwards give bit-identical logits, adapters on', () => {
  const w = load(), ids = tokens(33), T = 32, V = w.config.vocabSize;
  const tr = new FloatLoraTrainer(w, { rank: 4, seqLen: T, lr: 0.1, seed: 3 });
  let s = 777;
  for (const t of tr.tensors()) if (t.name.endsWith('lora_b')) for (let i = 0; i < t.w.length; i++) { s = (Math.imul(s, 1103515245) + 12345) & 0x7fffffff; t.w[i] = 0.1 * (s / 0x7fffffff - 0.5); }
  const m = new FloatModel(w, FLOAT64), make = (n: number) => new Float64Array(n);
  const rec = new Activations(w.config, T, true, make, 4), reuse = new Activations(w.config, T, false, make, 4);
  const bare = new Activations(w.config, T, false, make);
  let moved = 0;
  for (let p = 0; p < T; p++) {
    m.step(ids[p], p, rec, tr.blocks);
    m.step(ids[p], p, reuse, tr.blocks);
    m.step(ids[p], p, bare);
    for (let i = 0; i < V; i++) {
      if (rec.logits[p * V + i] !== reuse.logits[i]) assert.unreachable(`pos ${p} logit ${i}: ${rec.logits[p * V + i]} vs ${reuse.logits[i]}`);
      if (reuse.logits[i] !== bare.logits[i]) moved++;
    }
  }
  assert.ok(moved > 0.9 * T * V, `the adapters changed only ${moved} logits`);
});

test('step is SGD with momentum 0.875 on the gradient of the mean loss', () => {
  const w = load(), ids = tokens(17), lr = 0.3;
  const tr = new FloatLoraTrainer(w, { rank: 4, seqLen: 16, lr, seed: 11 });
  const probe = new FloatLoraTrainer(w, { rank: 4, seqLen: 16, lr, seed: 11 });
  const copyW = (from: FloatLoraTrainer, to: FloatLoraTrainer) => from.tensors().forEach((t, k) => to.tensors()[k].w.set(t.w));
  probe.lossAndGradient(ids);
  const g1 = probe.tensors().map((t) => Float64Array.from(t.g));
  const w0 = tr.tensors().map((t) => Float64Array.from(t.w));
  tr.step(ids);
  copyW(tr, probe);
  probe.lossAndGradient(ids);
  const g2 = probe.tensors().map((t) => Float64Array.from(t.g));
  tr.step(ids);
  tr.tensors().forEach((t, k) => {
    for (let i = 0; i < t.w.length; i++) {
      const w1 = w0[k][i] - lr * g1[k][i];
      const want = w1 - lr * (0.875 * g1[k][i] + g2[k][i]);
      assert.ok(Math.abs(t.w[i] - want) <= 1e-12 * (1 + Math.abs(want)), `${t.name}[${i}]: ${t.w[i]} vs ${want}`);
    }
  });
  const st = tr.state();
  assert.is(st.step, 2);
  assert.is(st.rPad, 16);
  const a = st.tensors.find((x) => x.name === 'blocks.0.wq.lora_a')!;
  assert.equal(a.shape, [16, 64]);
  assert.ok(a.data.subarray(4 * 64).every((x) => x === 0), 'padded rows of A are zero');
  assert.is(a.data[5], Math.round(tr.tensors()[0].w[5] * 2 ** 24));
});

test('loss decreases over 20 steps on a repeated sequence', () => {
  const w = load(), ids = tokens(33);
  const tr = new FloatLoraTrainer(w, { rank: 8, seqLen: 32, lr: 0.1, seed: 1 });
  const first = tr.loss(ids);
  for (let i = 0; i < 20; i++) tr.step(ids);
  const last = tr.loss(ids);
  assert.ok(last < 0.5 * first, `${first} -> ${last}`);
});

test('bad configuration is a clear error', () => {
  const w = load();
  assert.throws(() => new FloatLoraTrainer(w, { rank: 8, seqLen: 1000, lr: 0.1, seed: 1 }), /sequence length must be .*\[1, 512\]/);
  assert.throws(() => new FloatLoraTrainer(w, { rank: 8, seqLen: 8, lr: 0, seed: 1 }), /learning rate/);
  const tr = new FloatLoraTrainer(w, { rank: 8, seqLen: 8, lr: 0.1, seed: 1 });
  assert.throws(() => tr.step(tokens(5)), /seqLen \+ 1 = 9 tokens, got 5/);
});

test.run();
