// EWQ precision planner (issue 6): weight entropies against independent float64
// computations, the k·std rule, budget fitting checked against real artifact sizes, the
// plan file round trip, and `edgeq plan`.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../compiler/synth/prng.ts';
import { SHAPES, writeSynth } from '../compiler/synth/synth.ts';
import { importLlama2c } from '../compiler/import/llama2c.ts';
import { loadWeights, type TensorRef } from '../compiler/import/graph.ts';
import { quantizeInt8 } from '../compiler/quantize/int8.ts';
import { lowerInt8 } from '../compiler/lower/program.ts';
import { contentsFromQuant } from '../compiler/emit/from-quant.ts';
import { writeArtifact } from '../compiler/emit/artifact.ts';
import { loadTarget } from '../compiler/target/profile.ts';
import { planFromJson, type PlanSpec } from '../compiler/plan/plan.ts';
import {
  SoftmaxEntropy, codeEntropy, histogramEntropy, modelEntropies, softmaxEntropy, tensorEntropy, type BlockEntropy,
} from '../compiler/plan/entropy.ts';
import { ewqPlanJson, ewqPlanSpec, planEwq } from '../compiler/plan/ewq.ts';
import { EdgeqError } from '../compiler/util/errors.ts';
import { cli } from './helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'edgeq-ewq-'));
const ckpt = join(dir, 's260K.bin');
writeSynth(ckpt, { ...SHAPES.stories260K }, 11);

const gauss = (rng: Rng, n: number, sigma: number, mean = 0): Float64Array => {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = Math.max(rng.uniform(), 1e-300), v = rng.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    out[i] = mean + sigma * r * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = mean + sigma * r * Math.sin(2 * Math.PI * v);
  }
  return out;
};

/** Direct two-pass float64 formula: p = exp(x - max) / Z, H = -Σ p ln p. */
function direct(x: ArrayLike<number>): number {
  let m = -Infinity;
  for (let i = 0; i < x.length; i++) m = Math.max(m, x[i]);
  let z = 0;
  for (let i = 0; i < x.length; i++) z += Math.exp(x[i] - m);
  let h = 0;
  for (let i = 0; i < x.length; i++) { const p = Math.exp(x[i] - m) / z; if (p > 0) h -= p * Math.log(p); }
  return h;
}

test('softmax entropy matches a direct two-pass float64 computation (small, large and shifted weights)', () => {
  const rng = new Rng(3, 'ewq-test');
  for (const [n, sigma, mean] of [[1, 1, 0], [7, 1, 0], [256, 0.02, 0], [1000, 1, 0], [4096, 5, 0], [513, 30, 700], [2000, 0.1, -900]] as const) {
    const x = gauss(rng, n, sigma, mean);
    const h = softmaxEntropy(x), d = direct(x);
    assert.ok(Math.abs(h - d) < 1e-9 * Math.max(1, d), `n=${n} sigma=${sigma}: ${h} vs ${d}`);
    assert.ok(h >= 0 && h <= Math.log(n) + 1e-12);
    // Streaming in uneven chunks (a later chunk raising the maximum) gives the same value.
    const acc = new SoftmaxEntropy();
    for (let i = 0; i < n; i += 37) acc.add(x.subarray(i, Math.min(n, i + 37)));
    assert.ok(Math.abs(acc.value() - d) < 1e-9 * Math.max(1, d), `chunked n=${n}`);
  }
  assert.ok(Math.abs(softmaxEntropy(new Float32Array(64)) - Math.log(64)) < 1e-12);
});

test('small-variance Gaussian weights: H ≈ ln(n) − var/2', () => {
  const rng = new Rng(9, 'ewq-test');
  for (const sigma of [0.01, 0.03, 0.05]) {
    const n = 1 << 16, x = gauss(rng, n, sigma);
    let s = 0, s2 = 0;
    for (const v of x) { s += v; s2 += v * v; }
    const v = s2 / n - (s / n) ** 2;
    const want = Math.log(n) - v / 2;
    // The next term is O(σ³) (skewness, ~0 for a Gaussian) and O(σ⁴): tiny next to v/2.
    assert.ok(Math.abs(softmaxEntropy(x) - want) < 0.02 * v, `sigma ${sigma}: ${softmaxEntropy(x)} vs ${want}`);
  }
});

test('tensorEntropy streams with readRange and equals the whole-array value', () => {
  const rng = new Rng(5, 'ewq-test');
  const x = Float32Array.from(gauss(rng, 64 * 172, 0.5));
  let maxRead = 0;
  const ref: TensorRef = {
    name: 'blocks.0.w1', shape: [172, 64], byteOffset: 0,
    read: () => { throw new Error('read() must not be called when readRange exists'); },
    readRange: (start, count) => { maxRead = Math.max(maxRead, count); return x.slice(start, start + count); },
  };
  assert.ok(Math.abs(tensorEntropy(ref, 1000) - direct(x)) < 1e-9 * direct(x));
  assert.is(maxRead, 1000);
});

test('code-histogram entropy: bounds and known cases', () => {
  assert.ok(Math.abs(histogramEntropy([5, 5, 5, 5]) - 2) < 1e-12);
  assert.is(histogramEntropy([0, 9, 0]), 0);
  const rng = new Rng(1, 'ewq-test');
  const w = Float32Array.from(gauss(rng, 32 * 128, 0.1));
  for (const bits of [8, 4, 2, 1]) {
    const h = codeEntropy(w, 32, 128, bits, 64);
    assert.ok(h > 0.5 && h <= bits + 1e-12, `bits ${bits}: ${h}`);
  }
  assert.ok(codeEntropy(w, 32, 128, 4, 64) > codeEntropy(w, 32, 128, 2, 64));
});

const fakeEntropies = (hs: number[]): BlockEntropy[] => hs.map((h, block) => ({
  block, params: 1, entropy: h,
  matrices: (['wq', 'wk', 'wv', 'wo', 'w1', 'w2', 'w3'] as const).map((name) => ({ name, rows: 64, cols: 64, params: 4096, entropy: h })),
}));

test('EWQ rule: below mean−k·std → lowest bits, above mean+k·std → highest, else the middle', () => {
  const g = importLlama2c(ckpt);
  // mean 10, std = sqrt(0.5) ≈ 0.707 for [9, 10, 10, 10, 11]... five blocks.
  const p = planEwq(g, { bits: [2, 8, 4], k: 0.5, entropies: fakeEntropies([9, 10, 10.1, 9.9, 11]) });
  assert.equal(p.blocks.map((b) => b.bits), [2, 4, 4, 4, 8]);
  assert.match(p.blocks[0].rule, /^H=9\.0+ < mean−0\.5·std=9\.\d+ → 2 bits$/);
  assert.match(p.blocks[4].rule, /> mean\+0\.5·std=.* → 8 bits$/);
  // Equal entropies (std 0): every block gets the middle.
  assert.equal(planEwq(g, { entropies: fakeEntropies([3, 3, 3, 3, 3]) }).blocks.map((b) => b.bits), [4, 4, 4, 4, 4]);
});

test('EWQ plan file: deterministic, valid in the plan format, entropy/rule recorded per block and matrix', () => {
  const g = importLlama2c(ckpt);
  const a = JSON.stringify(ewqPlanJson(planEwq(g)));
  const b = JSON.stringify(ewqPlanJson(planEwq(importLlama2c(ckpt))));
  assert.is(a, b);
  const json = JSON.parse(a);
  const spec = planFromJson(json, 'ewq.json');
  assert.is(Object.keys(spec.blocks!).length, 5);
  for (const [k, blk] of Object.entries(json.blocks as Record<string, { bits: number; entropy: number; rule: string; matrices: Record<string, { entropy: number; bits: number }> }>)) {
    assert.type(blk.entropy, 'number');
    assert.type(blk.rule, 'string');
    assert.is(Object.keys(blk.matrices).length, 7);
    assert.is(spec.blocks![Number(k)].choice?.bits, blk.bits);
    // stories260K's w2 has input size 172: not a multiple of any group size, int8 by the fallback rule.
    if (blk.bits !== 8) assert.is(blk.matrices.w2.bits, 8);
  }
  // Block entropy is the parameter-weighted mean of its matrices'.
  const e = modelEntropies(g);
  const m = e[0].matrices;
  assert.ok(Math.abs(e[0].entropy - m.reduce((s, x) => s + x.params * x.entropy, 0) / m.reduce((s, x) => s + x.params, 0)) < 1e-12);
  // Validation still checks the informational fields.
  const bad = JSON.parse(a); bad.blocks['0'].entropy = 'high';
  assert.throws(() => planFromJson(bad, 'bad.json'), /\$\.blocks\["0"\]\.entropy: expected a number/);
  const bad2 = JSON.parse(a); bad2.blocks['1'].matrices.wq.rule = 3;
  assert.throws(() => planFromJson(bad2, 'bad.json'), /\$\.blocks\["1"\]\.matrices\.wq\.rule: expected a string/);
});

/** model.edgeq as edgeq compile writes it (no tokenizer), without building the runtime. */
function artifactBytes(plan: PlanSpec, vectors = 32): number {
  const model = quantizeInt8(loadWeights(importLlama2c(ckpt)), { plan });
  const contents = contentsFromQuant({ model, program: lowerInt8(model), target: loadTarget('wasm32'), plan, sourceSha256: new Uint8Array(32), sourcePath: ckpt, vectors });
  return writeArtifact(contents).length;
}

test('budget planning: the compiled model.edgeq fits the budget; lowest-entropy blocks are lowered first', () => {
  const g = importLlama2c(ckpt);
  const hiTotal = planEwq(g, { bits: [8] }).totalBytes, loTotal = planEwq(g, { bits: [2] }).totalBytes;
  for (const frac of [0.25, 0.6]) {
    const budget = Math.round(loTotal + frac * (hiTotal - loTotal));
    const p = planEwq(g, { budgetBytes: budget });
    assert.ok(p.totalBytes <= budget);
    const actual = artifactBytes(planFromJson(ewqPlanJson(p), 'fit.json'));
    assert.ok(actual <= budget, `actual ${actual} > budget ${budget}`);
    assert.ok(actual <= p.totalBytes && p.totalBytes - actual < 0.1 * actual, `estimate ${p.totalBytes} vs actual ${actual}`);
    // Entropy order: a block never has more bits than a block of higher entropy has... unless
    // it was not reached yet; with passes, bits are non-decreasing in entropy.
    const byH = [...p.blocks].sort((a, b) => a.entropy - b.entropy);
    for (let i = 1; i < byH.length; i++) assert.ok(byH[i].bits >= byH[i - 1].bits, `block ${byH[i].block}`);
    assert.ok(p.blocks.some((b) => b.bits < 8));
    assert.match(p.blocks[0].rule, /^budget \d+ bytes: H=/);
  }
  // Refusal names the bytes needed at the lowest precision and the budget.
  try { planEwq(g, { budgetBytes: loTotal - 1, budgetName: 'the test budget' }); assert.unreachable(); } catch (e) {
    assert.instance(e, EdgeqError);
    assert.match((e as Error).message, new RegExp(`does not fit the test budget: it needs ${loTotal} bytes with every block at 2 bits.*budget ${loTotal - 1} bytes`));
  }
});

test('size estimate bounds real artifacts for uniform and EWQ plans', () => {
  const g = importLlama2c(ckpt);
  for (const [bits, vectors] of [[8, 32], [4, 0], [2, 32]] as const) {
    const p = planEwq(g, { bits: [bits], vectors });
    const actual = artifactBytes(planFromJson(ewqPlanJson(p), 'u.json'), vectors);
    assert.ok(actual <= p.totalBytes && p.totalBytes - actual < 0.1 * actual, `bits ${bits}: estimate ${p.totalBytes} vs actual ${actual}`);
  }
  const spec = ewqPlanSpec(g);
  assert.is(spec.kind, 'file');
});

test('edgeq plan: table, plan file, --json, budget refusal', async () => {
  const out = join(dir, 'p.json');
  const r = await cli(['plan', ckpt, '-o', out]);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /block  entropy   bits       bytes  rule/);
  assert.match(r.stdout, /model\.edgeq estimate \d+ bytes/);
  planFromJson(JSON.parse(readFileSync(out, 'utf8')), out);
  const j = await cli(['plan', ckpt, '--budget-bytes', '250000', '--json', '-o', out]);
  assert.is(j.status, 0, j.stderr);
  const s = JSON.parse(j.stdout);
  assert.is(s.budgetBytes, 250000);
  assert.ok(s.totalBytes <= 250000);
  const bad = await cli(['plan', ckpt, '--budget-bytes', '1000', '-o', join(dir, 'no.json')]);
  assert.is(bad.status, 1);
  assert.match(bad.stderr, /does not fit --budget-bytes 1000: it needs \d+ bytes with every block at 2 bits/);
  const u = await cli(['plan', ckpt, '--method', 'uniform:4g32', '-o', join(dir, 'u.json')]);
  assert.is(u.status, 0, u.stderr);
  assert.match(u.stdout, /uniform: 4 bits/);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
