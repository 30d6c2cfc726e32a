// tier: slow (over ~10 s; npm run test:quick skips it, npm test runs it)
// EWQ precision planner (issue 6): weight entropies against independent float64
// computations, the k·std rule, budget fitting checked against real artifact sizes, the
// plan file round trip, and `edgeq plan`.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../compiler/synth/prng.ts';
import { SHAPES, writeSynth } from '../compiler/synth/synth.ts';
import { openModel } from '../compiler/import/open-model.ts';
import type { TensorRef } from '../compiler/import/graph.ts';
import { planFromJson, type PlanSpec } from '../compiler/plan/plan.ts';
import {
  SoftmaxEntropy, codeEntropy, histogramEntropy, modelEntropies, softmaxEntropy, tensorEntropy, type BlockEntropy,
} from '../compiler/plan/entropy.ts';
import { ewqPlanJson, ewqPlanSpec, planEwq } from '../compiler/plan/ewq.ts';
import { EdgeqError } from '../compiler/util/errors.ts';
import { cli } from './helpers/cli.ts';
import { planAsFile, raisedPlan, realArtifactBytes } from './helpers/plan-budget.ts';

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
  const g = openModel(ckpt);
  // mean 10, std = sqrt(0.5) ≈ 0.707 for [9, 10, 10, 10, 11]... five blocks.
  const p = planEwq(g, { bits: [2, 8, 4], k: 0.5, entropies: fakeEntropies([9, 10, 10.1, 9.9, 11]) });
  assert.equal(p.blocks.map((b) => b.bits), [2, 4, 4, 4, 8]);
  assert.match(p.blocks[0].rule, /^H=9\.0+ < mean−0\.5·std=9\.\d+ → 2 bits$/);
  assert.match(p.blocks[4].rule, /> mean\+0\.5·std=.* → 8 bits$/);
  // Equal entropies (std 0): every block gets the middle.
  assert.equal(planEwq(g, { entropies: fakeEntropies([3, 3, 3, 3, 3]) }).blocks.map((b) => b.bits), [4, 4, 4, 4, 4]);
});

test('EWQ plan file: deterministic, valid in the plan format, entropy/rule recorded per block and matrix', () => {
  const g = openModel(ckpt);
  const a = JSON.stringify(ewqPlanJson(planEwq(g)));
  const b = JSON.stringify(ewqPlanJson(planEwq(openModel(ckpt))));
  assert.is(a, b);
  const json = JSON.parse(a);
  const spec = planFromJson(json, 'ewq.json');
  assert.is(Object.keys(spec.blocks!).length, 5);
  for (const [k, blk] of Object.entries(json.blocks as Record<string, { bits: number; entropy: number; rule: string; matrices: Record<string, { entropy: number; bits: number }> }>)) {
    assert.type(blk.entropy, 'number');
    assert.type(blk.rule, 'string');
    assert.is(Object.keys(blk.matrices).length, 7);
    assert.is(spec.blocks![Number(k)].choice?.bits, blk.bits);
    // stories260K's w2 has input size 172: not a multiple of any group size, its last group
    // padded (an int8 fallback before), so it takes the block's bits like the others.
    assert.is(blk.matrices.w2.bits, blk.bits);
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

// Real artifact sizes and plan files (shared with test/plan-damage.test.ts).
const artifactBytes = (plan: PlanSpec, vectors = 32): number => realArtifactBytes(ckpt, plan, vectors);
const asFile = (p: Parameters<typeof ewqPlanJson>[0], name = 'plan.json'): PlanSpec => planAsFile(dir, p, name);
const raised = (p: { bits: number[]; blocks: Array<{ bits: number }> }, b: number, name = 'plan.json'): PlanSpec => raisedPlan(dir, p, b, name);

test('budget planning (model.edgeq): exact fit, not wastefully small, lowest-entropy blocks lowered first', () => {
  const g = openModel(ckpt);
  const hiTotal = planEwq(g, { bits: [8] }).totalBytes, loTotal = planEwq(g, { bits: [2] }).totalBytes;
  for (const frac of [0.1, 0.25, 0.45, 0.6, 0.9]) {
    const budget = Math.round(loTotal + frac * (hiTotal - loTotal));
    const p = planEwq(g, { budgetBytes: budget });
    const actual = artifactBytes(asFile(p));
    assert.is(actual, p.totalBytes, 'the size the planner used is the emitted artifact\'s');
    assert.ok(actual <= budget, `actual ${actual} > budget ${budget}`);
    assert.is(p.budgetUsed, actual);
    // Not wastefully small: raising any lowered block one step no longer fits (real artifacts).
    const steps = p.blocks.flatMap((b, i) => (b.bits === p.bits[0] ? [] : [artifactBytes(raised(p, i)) - actual]));
    assert.ok(steps.length > 0);
    assert.ok(budget - actual < Math.min(...steps), `budget ${budget}, used ${actual}, smallest step ${Math.min(...steps)}`);
    const byH = [...p.blocks].sort((a, b) => a.entropy - b.entropy);
    for (let i = 1; i < byH.length; i++) assert.ok(byH[i].bits >= byH[i - 1].bits, `block ${byH[i].block}`);
    assert.match(p.blocks[0].rule, /^budget \d+ bytes: H=/);
  }
  // Refusal names the bytes needed at the lowest precision and the budget. The need is the
  // budget plan's own all-2-bit artifact (its rule texts differ from uniform's, so its
  // FlatBuffers padding may too): it fits exactly that many bytes and no fewer.
  const lowest = planEwq(g, { budgetBytes: loTotal });
  assert.ok(lowest.blocks.every((b) => b.bits === 2));
  const need = lowest.totalBytes;
  assert.ok(Math.abs(need - loTotal) <= 64, `need ${need} vs uniform 2-bit ${loTotal}`);
  try { planEwq(g, { budgetBytes: need - 1, budgetName: 'the test budget' }); assert.unreachable(); } catch (e) {
    assert.instance(e, EdgeqError);
    assert.match((e as Error).message, new RegExp(`does not fit the test budget: it needs ${need} bytes with every block at 2 bits.*budget ${need - 1} bytes, 1 bytes over`));
  }
});

test('plan sizes are exact for uniform and EWQ plans', () => {
  const g = openModel(ckpt);
  for (const [bits, vectors] of [[[8], 32], [[4], 0], [[2], 32], [[8, 4, 2], 7]] as const) {
    const p = planEwq(g, { bits: [...bits], vectors, planName: 'u.json' });
    assert.is(artifactBytes(asFile(p, 'u.json'), vectors), p.totalBytes, `bits ${bits}`);
  }
  const spec = ewqPlanSpec(g);
  assert.is(spec.kind, 'file');
});

test('edgeq plan: table, plan file, --json, budget refusal', async () => {
  const out = join(dir, 'p.json');
  const r = await cli(['plan', ckpt, '-o', out]);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /block  entropy   bits       bytes  rule/);
  assert.match(r.stdout, /model\.edgeq \d+ bytes .*exact for edgeq compile --target wasm32 --vectors 32 --plan p\.json/);
  planFromJson(JSON.parse(readFileSync(out, 'utf8')), out);
  const bad = await cli(['plan', ckpt, '--budget-bytes', '1000', '-o', join(dir, 'no.json')]);
  assert.is(bad.status, 1);
  assert.match(bad.stderr, /does not fit --budget-bytes 1000 \(covers model\.edgeq \+ runtime\.wasm, target wasm32\): it needs \d+ bytes with every block at 2 bits/);
  // A uniform plan has nothing to fit: over the budget, it is refused with its exact bytes.
  const ub = await cli(['plan', ckpt, '--method', 'uniform:2', '--budget-bytes', '1000', '-o', join(dir, 'no.json')]);
  assert.is(ub.status, 1);
  const m = /plan uniform:2 does not fit --budget-bytes 1000 \(covers model\.edgeq \+ runtime\.wasm, target wasm32\): it needs (\d+) bytes, budget 1000 bytes, (\d+) bytes over/.exec(ub.stderr);
  assert.ok(m && Number(m[1]) - 1000 === Number(m[2]), ub.stderr);
  const u = await cli(['plan', ckpt, '--method', 'uniform:4g32', '-o', join(dir, 'u.json')]);
  assert.is(u.status, 0, u.stderr);
  assert.match(u.stdout, /uniform: 4 bits/);
});

test('edgeq plan with a budget prints a progress line before each runtime build it measures (issue 12)', async () => {
  // An empty cache forces the builds that take seconds; each must be announced on stderr.
  const cache = mkdtempSync(join(tmpdir(), 'edgeq-ewq-cache-'));
  // A fresh process, as a user runs it: this one holds the runtimes earlier tests built.
  const r = spawnSync(process.execPath, ['bin/edgeq.mjs', 'plan', ckpt, '--budget-bytes', '50000000', '-o', join(dir, 'fit.json')],
    { cwd: join(import.meta.dirname, '..'), encoding: 'utf8', env: { ...process.env, EDGEQ_CACHE: cache } });
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stderr, /^edgeq plan: loading the compiler\n/);
  const lines = r.stderr.split('\n').filter((l) => /^plan: building a (SIMD|scalar) runtime for op kinds .+ to measure it .*\(\d+\.\d s since edgeq started\)$/.test(l));
  // Two op-kind sets are measured (all int8, and with the LUT kernels of the lowest bits).
  assert.is(lines.length, 2, r.stderr);
  assert.match(r.stdout, /fits, \d+ bytes spare/);
});

/** `edgeq compile` in a fresh process, as a user runs it (the runtime is built first thing). */
function compileFresh(args: string[]): { 'model.edgeq': number; 'runtime.wasm': number } {
  const out = join(dir, `b${Math.random().toString(36).slice(2)}`);
  const r = spawnSync(process.execPath, ['bin/edgeq.mjs', 'compile', ...args, '-o', out], { cwd: join(import.meta.dirname, '..'), encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  return { 'model.edgeq': statSync(join(out, 'model.edgeq')).size, 'runtime.wasm': statSync(join(out, 'runtime.wasm')).size };
}

test('device budget: plan → compile, model.edgeq + runtime.wasm ≤ budget, exactly as planned, not wastefully small; compile refuses a renamed plan over budget', async () => {
  const g = openModel(ckpt);
  const u4 = planEwq(g, { bits: [4], vectors: 0 }).totalBytes, u2 = planEwq(g, { bits: [2], vectors: 0 }).totalBytes;
  const budget = Math.round((u4 + u2) / 2) + 23000; // about half the blocks at 2 bits, with a ~23 KB runtime
  const pf = join(dir, 'fit.json');
  const r = await cli(['plan', ckpt, '--budget-bytes', String(budget), '--vectors', '0', '--json', '-o', pf]);
  assert.is(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.is(s.budgetCovers, 'model.edgeq + runtime.wasm');
  const files = compileFresh([ckpt, '--target', 'wasm32', '--vectors', '0', '--plan', pf]);
  assert.is(files['model.edgeq'], s.device.artifact);
  assert.is(files['runtime.wasm'], s.device.runtime);
  const used = files['model.edgeq'] + files['runtime.wasm'];
  assert.ok(used <= budget, `${used} > ${budget}`);
  assert.is(s.budgetUsed, used);
  const bits: number[] = s.blocks.map((b: { bits: number }) => b.bits);
  assert.ok(bits.includes(2) && bits.includes(4), `bits ${bits}`);
  // Raising any 2-bit block to 4 bits (same runtime: LUT kernels either way) would not fit.
  const at = { bits: [8, 4, 2], blocks: bits.map((b) => ({ bits: b })) };
  const steps = bits.flatMap((b, i) => (b === 2 ? [artifactBytes(raised(at, i, 'fit.json'), 0) - files['model.edgeq']] : []));
  assert.ok(budget - used < Math.min(...steps), `budget ${budget}, used ${used}, smallest step ${Math.min(...steps)}`);
  // The same plan under a longer name: 2 × 8 more bytes of strings in the artifact; with a
  // budget of exactly the planned use, compile refuses it with the numbers.
  const tight = JSON.parse(readFileSync(pf, 'utf8'));
  tight.bytes.budget = used;
  const renamed = join(dir, 'a-much-longer-plan-name.json');
  writeFileSync(renamed, JSON.stringify(tight, null, 2) + '\n');
  const c = await cli(['compile', ckpt, '--target', 'wasm32', '--vectors', '0', '--plan', renamed, '-o', join(dir, 'over')]);
  assert.is(c.status, 1);
  assert.match(c.stderr, new RegExp(`does not fit the plan's budget of ${used} bytes \\(covers model\\.edgeq \\+ runtime\\.wasm\\): model\\.edgeq \\d+ \\+ runtime\\.wasm \\d+ = \\d+ bytes, \\d+ over`), c.stderr);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
