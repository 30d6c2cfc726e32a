// tier: slow (over ~10 s; npm run test:quick skips it, npm test runs it)
// `edgeq plan --method mixed` (issue 15 item 6): a weight format per block matrix among every
// registered format, scored by its calibration output error (optionally weighted by a
// measured KL sensitivity), allocated under --bpw or a byte budget. On a small synthetic
// model (2 blocks, dim 64, hidden 128, so that every matrix has a choice): the candidates,
// the allocator against hand-made instances and an exhaustive search, the budget checked on
// real quantized models (bytes counted from the QuantModel's tensors and the written
// artifact, not by the allocator), a matrix made more sensitive gets more bits, the plan
// file's validation, and the CLI end to end with its errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSynth } from '../compiler/synth/synth.ts';
import { openModel } from '../compiler/import/open-model.ts';
import { loadWeights } from '../compiler/import/graph.ts';
import { calibrate } from '../compiler/quantize/calibrate.ts';
import { quantizeInt8 } from '../compiler/quantize/int8.ts';
import { planFromJson, readPlanFile, BLOCK_MATRICES } from '../compiler/plan/plan.ts';
import { ewqPlanJson } from '../compiler/plan/ewq.ts';
import { planReportHtml } from '../compiler/plan/report.ts';
import { MIXED_DEFAULT_BITS, allocate, candidateChoices, measureSensitivity, sensitivityAt, planMixed, scoreMatrices, selfGeneratedStream, type MatrixScores, type MixedCandidate } from '../compiler/plan/mixed.ts';
import { blockMatrixBytes, blockWeights } from '../compiler/eval/quality.ts';
import { EdgeqError } from '../compiler/util/errors.ts';
import { cli } from './helpers/cli.ts';
import { realArtifactBytes } from './helpers/plan-budget.ts';
import { lowerInt8 } from '../compiler/lower/program.ts';
import { contentsFromQuant } from '../compiler/emit/from-quant.ts';
import { writeArtifact } from '../compiler/emit/artifact.ts';
import { loadTarget } from '../compiler/target/profile.ts';

const dir = mkdtempSync(join(tmpdir(), 'edgeq-mixed-'));
const ckpt = join(dir, 'm.bin');
const config = { dim: 64, hiddenDim: 128, nLayers: 2, nHeads: 4, nKvHeads: 2, vocabSize: 96, seqLen: 64, sharedClassifier: true };
writeSynth(ckpt, config, 7);
const g = openModel(ckpt), w = loadWeights(g);
const hessians = calibrate(w, { sequences: 2, length: 48 });
const scores = scoreMatrices(w, hessians);
const W = 2 * (64 * 64 * 2 + 32 * 64 * 2 + 64 * 128 * 3); // block weights of this shape, by hand

const planFile = (p: ReturnType<typeof planMixed>, name = 'mixed.json') => {
  const f = join(dir, name);
  writeFileSync(f, JSON.stringify(ewqPlanJson(p), null, 2) + '\n');
  return readPlanFile(f);
};

test('mixed: candidates are every registered format and group size the input size admits', () => {
  const spell = (cols: number) => candidateChoices(cols, [8, 6, 5, 4, 3, 2, 1]).map((c) => `${c.format}${c.groupSize ? `g${c.groupSize}` : ''}`).sort();
  // q6 takes g32 only, q5 g32/g64, q4..q1 g32/g64/g128 (docs/integer-spec.md §9); g128 needs cols % 128 = 0.
  assert.equal(spell(64), ['int8', 'q1g32', 'q1g64', 'q2_lutg32', 'q2_lutg64', 'q3g32', 'q3g64', 'q4_lutg32', 'q4_lutg64', 'q5g32', 'q5g64', 'q6g32'].sort());
  assert.equal(spell(128).length, 16);
  // stories260K's w2 (n = 172): no group size divides it; padded to 192 columns at g32 or
  // g64 (g128 would store 256, and asked g128 resolves to g64: not a candidate of its own).
  assert.equal(spell(172), spell(64));
  // --bits narrows the low-bit formats; int8 always stays (every format's fallback).
  assert.equal(candidateChoices(128, [4, 2]).map((c) => c.format), ['int8', 'q4_lut', 'q4_lut', 'q4_lut', 'q2_lut', 'q2_lut', 'q2_lut']);
  // vq2 (2.5 bits, whole blocks of 16 columns) only when asked for, as the default leaves it out.
  assert.equal(candidateChoices(128, [2.5]).map((c) => c.format), ['int8', 'vq2']);
  assert.equal(candidateChoices(172, [2.5]).map((c) => c.format), ['int8']);
  assert.not.ok(MIXED_DEFAULT_BITS.includes(2.5));
  assert.is(scores.length, 2 * 7);
  for (const m of scores) {
    // Damage falls with bits at a fixed group size and is ~0 at int8.
    const at = (f: string, gs: number) => m.candidates.find((c) => c.choice.format === f && c.choice.groupSize === gs)!.damage;
    assert.ok(at('q1', 32) > at('q2_lut', 32) && at('q2_lut', 32) > at('q3', 32) && at('q3', 32) > at('q4_lut', 32) && at('q4_lut', 32) > at('q5', 32) && at('q5', 32) > at('q6', 32) && at('q6', 32) > at('int8', 0), `${m.block} ${m.name}`);
    assert.ok(at('int8', 0) < 1e-3 && at('q1', 32) > 0.01);
  }
});

// A hand-made instance: two matrices, costs in bytes, damages.
const cand = (bytes: number, damage: number): MixedCandidate => ({ choice: { bits: 8, groupSize: 0, format: 'int8', rule: '' }, dataBytes: bytes, alignedBytes: bytes, damage });
const toy = (cands: MixedCandidate[][], sens?: number[]): MatrixScores[] => cands.map((c, i) => ({ block: 0, name: BLOCK_MATRICES[i], rows: 1, cols: 1, candidates: c, ...(sens ? { sensitivity: sens[i] } : {}) }));

test('mixed: the allocator never exceeds the budget, spends it by damage per byte, matches an exhaustive search on hull budgets', () => {
  const a = [cand(10, 1), cand(20, 0.3), cand(30, 0.25), cand(40, 0.01)];
  const b = [cand(10, 0.5), cand(20, 0.1), cand(30, 0.05)];
  const s = toy([a, b]);
  assert.equal(allocate(s, 19, 'dataBytes'), { pick: null, minimum: 20 });
  // 30 bytes: one upgrade; a's 10 → 20 saves 0.07/byte, b's 0.04/byte.
  assert.equal((allocate(s, 30, 'dataBytes') as { pick: number[] }).pick, [1, 0]);
  assert.equal((allocate(s, 1000, 'dataBytes') as { pick: number[] }).pick, [3, 2]);
  // Exhaustive check: for every budget, within it; and never worse than the best plan of one hull step less.
  for (let budget = 20; budget <= 70; budget++) {
    const r = allocate(s, budget, 'dataBytes');
    assert.ok(r.pick, `budget ${budget}`);
    const used = a[r.pick![0]].dataBytes + b[r.pick![1]].dataBytes;
    assert.ok(used <= budget, `budget ${budget}: used ${used}`);
    let best = Infinity;
    for (const x of a) for (const y of b) if (x.dataBytes + y.dataBytes <= budget) best = Math.min(best, x.damage + y.damage);
    const got = a[r.pick![0]].damage + b[r.pick![1]].damage;
    // On this instance the greedy with its final pass is optimal at every budget.
    assert.ok(Math.abs(got - best) < 1e-12, `budget ${budget}: ${got} vs optimum ${best}`);
  }
  // Sensitivity weights the damage: a 100× more sensitive b is upgraded first.
  assert.equal((allocate(toy([a, b], [1, 100]), 30, 'dataBytes') as { pick: number[] }).pick, [0, 1]);
});

test('mixed: --bpw is honoured on the compiled model (block-matrix bytes of the QuantModel), with and without GPTQ', () => {
  assert.is(blockWeights(w), W);
  for (const bpw of [2.6, 3.3, 4.6, 6]) {
    const p = planMixed(g.config, scores, { bpw, vectors: 0, sourcePath: ckpt });
    const m = quantizeInt8(w, { plan: planFile(p) });
    const real = (8 * blockMatrixBytes(m)) / W;
    assert.ok(real <= bpw, `--bpw ${bpw}: compiled ${real}`);
    assert.ok(real > bpw - 0.3, `--bpw ${bpw}: compiled ${real} leaves too much unspent`);
    assert.ok(Math.abs(real - p.mixed!.blockBpw) < 1e-12, `the plan says ${p.mixed!.blockBpw}, the model has ${real}`);
    // Every matrix is stored in the format the plan chose (no fallback).
    for (const b of p.blocks) for (const mp of b.matrices) {
      const f = m.formats![`blocks.${b.block}.${mp.name}`];
      assert.equal([f.format, f.groupSize], [mp.choice.format, mp.choice.groupSize]);
    }
  }
  const gs = scoreMatrices(w, hessians, { gptq: true });
  const p = planMixed(g.config, gs, { bpw: 4, gptq: true, vectors: 0 });
  const m = quantizeInt8(w, { plan: planFile(p), gptq: { hessians } });
  assert.ok((8 * blockMatrixBytes(m)) / W <= 4);
  // With GPTQ the scored values are the compiled ones: GPTQ's damage at 2 bits is below the clip search's.
  const d2 = (s: MatrixScores[]) => s[0].candidates.find((c) => c.choice.format === 'q2_lut' && c.choice.groupSize === 64)!.damage;
  assert.ok(d2(gs) < d2(scores), `${d2(gs)} vs ${d2(scores)}`);
});

test('mixed: a byte budget is honoured on the written model.edgeq', () => {
  const lo = planMixed(g.config, scores, { bpw: 2, vectors: 0, sourcePath: ckpt }).totalBytes;
  const hi = planMixed(g.config, scores, { bpw: 8.5, vectors: 0, sourcePath: ckpt }).totalBytes;
  for (const budget of [lo + 1000, Math.round((lo + hi) / 2)]) {
    const p = planMixed(g.config, scores, { budgetBytes: budget, vectors: 0, sourcePath: ckpt, planName: 'mixed.json' });
    const real = realArtifactBytes(ckpt, planFile(p), 0);
    assert.ok(real <= budget, `budget ${budget}: model.edgeq ${real}`);
    assert.is(real, p.budgetUsed);
  }
  assert.throws(() => planMixed(g.config, scores, { budgetBytes: lo - 5000, vectors: 0, sourcePath: ckpt }), (e: Error) => e instanceof EdgeqError && /does not fit .* bytes over/.test(e.message));
  // With --gptq the artifact records GPTQ's rule per matrix: the plan sizes that too.
  const budget = Math.round((lo + hi) / 2);
  const p = planMixed(g.config, scores, { budgetBytes: budget, gptq: true, vectors: 0, sourcePath: ckpt, planName: 'mixed.json' });
  const plan = planFile(p);
  const model = quantizeInt8(w, { plan, gptq: { hessians } });
  const real = writeArtifact(contentsFromQuant({ model, program: lowerInt8(model), target: loadTarget('wasm32'), plan, gptq: true, sourceSha256: new Uint8Array(32), sourcePath: ckpt, vectors: 0 })).length;
  assert.is(real, p.budgetUsed);
  assert.ok(real <= budget);
});

test('mixed: a matrix made more sensitive gets more bits; the KL refinement measures sensitivities', async () => {
  const bitsOf = (s: MatrixScores[], i: number) => {
    const p = planMixed(g.config, s, { bpw: 3.5, vectors: 0 });
    return p.blocks.flatMap((b) => b.matrices)[i].choice.bits;
  };
  const i = scores.findIndex((m) => m.block === 1 && m.name === 'w1');
  const before = bitsOf(scores, i);
  assert.ok(before < 8, `w1 at ${before} bits already`);
  const louder = scores.map((m, k) => ({ ...m, sensitivity: k === i ? 1000 : 1 }));
  assert.ok(bitsOf(louder, i) > before, `${bitsOf(louder, i)} vs ${before}`);
  const quieter = scores.map((m, k) => ({ ...m, sensitivity: k === i ? 1e-3 : 1 }));
  assert.ok(bitsOf(quieter, i) < before, `${bitsOf(quieter, i)} vs ${before}`);
  // Measured probes at 2 and 4 bits (largest group): a 2-bit matrix costs more KL than a 4-bit one.
  const stream = selfGeneratedStream(w, 64);
  assert.is(stream.length, 64);
  const sens = await measureSensitivity(w, scores.slice(0, 3), hessians, stream);
  for (const m of sens) {
    assert.equal(m.probes!.map((p) => [p.choice.bits, p.choice.groupSize]), [[2, 64], [4, 64]]);
    assert.ok(m.probes![0].deltaKl > m.probes![1].deltaKl && m.probes![1].deltaKl > 0, `${m.name}: ${m.probes!.map((p) => p.deltaKl)}`);
    // Between the probes the sensitivity is interpolated in log damage; outside, the nearest probe's.
    const [a, b] = m.probes!, sa = a.deltaKl / a.damage, sb = b.deltaKl / b.damage;
    assert.ok(Math.abs(sensitivityAt(m, a.damage)! - sa) < 1e-12 * sa && Math.abs(sensitivityAt(m, 10 * a.damage)! - sa) < 1e-12 * sa);
    assert.ok(Math.abs(sensitivityAt(m, b.damage / 10)! - sb) < 1e-12 * sb);
    const mid = Math.sqrt(a.damage * b.damage);
    assert.ok(Math.abs(sensitivityAt(m, mid)! - (sa + sb) / 2) < 1e-9 * (sa + sb));
  }
});

test('mixed: plan file records formats, damage, sensitivity and blockBpw; validation; report', () => {
  const s = scores.map((m) => ({ ...m, sensitivity: 2 }));
  const p = planMixed(g.config, s, { bpw: 4.6, vectors: 0, klTokens: 64 });
  const json = ewqPlanJson(p) as Record<string, any>;
  assert.equal(json.blockBpw, { used: Number(p.mixed!.blockBpw.toPrecision(9)), budget: 4.6 });
  const spec = planFromJson(json, 'p.json');
  for (const b of p.blocks) for (const m of b.matrices) {
    const j = json.blocks[String(b.block)].matrices[m.name];
    assert.is(j.format, m.choice.format);
    assert.is(j.damage, Number(m.damage!.toPrecision(9)));
    assert.is(j.sensitivity, 2);
    assert.is(spec.blocks![b.block].matrices[m.name]!.format, m.choice.format);
  }
  const bad = (patch: (j: any) => void, re: RegExp) => {
    const j = JSON.parse(JSON.stringify(json));
    patch(j);
    assert.throws(() => planFromJson(j, 'p.json'), (e: Error) => re.test(e.message), String(re));
  };
  bad((j) => { j.blocks['0'].matrices.wq.damage = -1; }, /p\.json: \$\.blocks\["0"\]\.matrices\.wq\.damage: expected a number >= 0, got number -1/);
  bad((j) => { j.blocks['1'].matrices.w2.sensitivity = 'x'; }, /\$\.blocks\["1"\]\.matrices\.w2\.sensitivity: expected a number >= 0/);
  bad((j) => { j.blockBpw = 4; }, /\$\.blockBpw: expected an object/);
  bad((j) => { j.blockBpw = { budget: 4 }; }, /\$\.blockBpw: missing "used"/);
  bad((j) => { j.blockBpw.used = 0; }, /\$\.blockBpw\.used: expected a number > 0/);
  bad((j) => { j.blockBpw.spare = 1; }, /\$\.blockBpw\.spare: unknown key/);
  const html = planReportHtml(p, { title: 'm.bin' });
  assert.ok(html.includes('<th>damage</th>'));
  assert.ok(html.includes(`block matrices ${p.mixed!.blockBpw.toFixed(4)} bits per weight (budget --bpw 4.6)`));
  assert.not.match(html, /NaN/);
});

test('mixed: CLI end to end — plan, compile the plan file, the bundle has the planned formats within --bpw', async () => {
  const pf = join(dir, 'cli.json'), out = join(dir, 'out');
  const r = await cli(['plan', ckpt, '--method', 'mixed', '--bpw', '3.2', '--kl-tokens', '64', '--vectors', '0', '-o', pf, '--json']);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stderr, /mixed: \[14\/14\]/);
  assert.match(r.stderr, /KL sensitivity of each matrix on 64 self-generated tokens/);
  const s = JSON.parse(r.stdout);
  assert.ok(s.mixed.blockBpw <= 3.2 && s.mixed.bpwBudget === 3.2 && s.mixed.klTokens === 64);
  const c = await cli(['compile', ckpt, '--plan', pf, '--vectors', '0', '--no-train', '-o', out]);
  assert.is(c.status, 0, c.stderr);
  const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
  const plan = JSON.parse(readFileSync(pf, 'utf8'));
  for (const l of [0, 1]) for (const m of BLOCK_MATRICES) {
    const want = plan.blocks[String(l)].matrices[m];
    assert.is(manifest.precision.blocks[l][m], want.groupSize ? `${want.format} g${want.groupSize}` : want.format, `${l} ${m}`);
  }
  // The text output lists every matrix's format.
  const t = await cli(['plan', ckpt, '--method', 'mixed', '--bpw', '3.2', '--kl-tokens', '0', '--vectors', '0', '-o', join(dir, 't.json')]);
  assert.is(t.status, 0, t.stderr);
  assert.match(t.stdout, /block  wq +wk +wv +wo +w1 +w2 +w3 +bytes/);
  assert.match(t.stdout, /block matrices \d\.\d{4} bits per weight \(--bpw 3\.2\)/);
});

test('mixed: CLI errors — bad --bpw, no budget, two budgets, --bpw without mixed, an impossible budget (with the numbers)', async () => {
  const o = join(dir, 'e.json');
  const run = (...a: string[]) => cli(['plan', ckpt, '-o', o, '--vectors', '0', '--kl-tokens', '0', ...a]);
  let r = await run('--method', 'mixed', '--bpw', 'four');
  assert.is(r.status, 2); assert.match(r.stderr, /--bpw expects a number, got "four"/);
  r = await run('--method', 'mixed', '--bpw', '0.1');
  assert.is(r.status, 2); assert.match(r.stderr, /--bpw must be in \[0\.5, 16\], got 0\.1/);
  r = await run('--method', 'mixed');
  assert.is(r.status, 2); assert.match(r.stderr, /--method mixed needs a budget: --bpw/);
  r = await run('--method', 'mixed', '--bpw', '4', '--budget-bytes', '100000');
  assert.is(r.status, 2); assert.match(r.stderr, /--bpw and --budget-bytes 100000 are two budgets/);
  r = await run('--method', 'ewq', '--bpw', '4');
  assert.is(r.status, 2); assert.match(r.stderr, /--bpw is for --method mixed/);
  // Below every matrix at q1 g64 / g128 (1.25–1.5 bits with group bytes and row scales).
  r = await run('--method', 'mixed', '--bpw', '1');
  assert.is(r.status, 1);
  assert.match(r.stderr, new RegExp(`--bpw 1 is below what the block matrices need: 1\\.\\d+ bits per block weight with every matrix in its smallest format of --bits 8,6,5,4,3,2,1 \\(\\d+ bytes of block-matrix data for ${W} weights; --bpw 1 allows ${Math.floor(W / 8)}\\)`));
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
