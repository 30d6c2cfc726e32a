// tier: slow (over ~10 s; npm run test:quick skips it, npm test runs it)
// `edgeq plan --method damage` (issue 6): blocks ranked by the measured ΔKL of lowering each
// alone, on calibration text. On the real stories260K with 500 calibration tokens: the
// measurement against the integer reference model (an engine independent of runtime.wasm),
// determinism (library and CLI measure the same values), the order (ascending ΔKL), the k·σ
// rule, the budget fit (real artifacts, as EWQ's), the CLI end to end and its errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openModel } from '../compiler/import/open-model.ts';
import { loadWeights } from '../compiler/import/graph.ts';
import { Tokenizer } from '../compiler/import/tokenizer.ts';
import { quantizeInt8 } from '../compiler/quantize/int8.ts';
import { teacherForced, intEngine } from '../compiler/eval/teacher-forced.ts';
import { FloatTransformer } from '../compiler/reference/float/forward.ts';
import { planFromJson } from '../compiler/plan/plan.ts';
import { planEwq } from '../compiler/plan/ewq.ts';
import { KlMeter, bitsSpec, calibrationTokens, measureDamage, planDamage, type DamageMeasure } from '../compiler/plan/damage.ts';
import { planReportHtml } from '../compiler/plan/report.ts';
import { EdgeqError } from '../compiler/util/errors.ts';
import { cli } from './helpers/cli.ts';
import { planAsFile, raisedPlan, realArtifactBytes } from './helpers/plan-budget.ts';

const MODELS = process.env.EDGEQ_MODELS ?? join(import.meta.dirname, '../../shared/models');
const ckpt = join(MODELS, 'stories260K.bin'), tokp = join(MODELS, 'tok512.bin'), text = join(MODELS, 'tinystories-valid-head.txt');
const have = existsSync(ckpt) && existsSync(tokp) && existsSync(text);
const dir = mkdtempSync(join(tmpdir(), 'edgeq-damage-'));
const N = 500;

// One measurement (6 bundles, ~20 s), shared by the tests below.
const g = have ? openModel(ckpt) : undefined;
const stream = have ? calibrationTokens(Tokenizer.load(tokp), text, N) : [];
const d: DamageMeasure | undefined = have ? await measureDamage(new KlMeter(g!, loadWeights(g!), stream), 8, 2) : undefined;

test('damage: KL of the measured plans equals the integer reference model\'s (independent engine)', () => {
  if (!have) return console.log('  skipped: real models not found');
  assert.is(stream.length, N);
  assert.is(d!.calibrationTokens, N);
  const w = loadWeights(g!);
  // The float reference run fresh for each plan (no cache), the plan through the TypeScript integer model.
  const kl = (bits: number[]) => teacherForced(stream, new FloatTransformer(w, { accumulate: 'float64' }), intEngine(quantizeInt8(w, { plan: bitsSpec(bits) })), { seqLen: g!.config.seqLen }).meanKL;
  const base = kl([8, 8, 8, 8, 8]);
  assert.is(d!.baseKl, base);
  assert.is(d!.deltaKl[3], kl([8, 8, 8, 2, 8]) - base);
  // Lowering a block to 2 bits costs something on every block of this model.
  for (const x of d!.deltaKl) assert.ok(x > 0, `ΔKL ${x}`);
});

test('damage: deterministic — the CLI measures the same values; plan file, rules, report', async () => {
  if (!have) return;
  const L = g!.config.nLayers;
  const u4 = planEwq(g!, { bits: [4], vectors: 0 }).totalBytes, u2 = planEwq(g!, { bits: [2], vectors: 0 }).totalBytes;
  const budget = Math.round((u4 + u2) / 2) + 30000; // about half the blocks at 2 bits, with the runtime
  const pf = join(dir, 'dmg.json'), rf = join(dir, 'dmg.html');
  const r = await cli(['plan', ckpt, '--method', 'damage', '--calibration', text, '--calibration-tokens', String(N), '--tokenizer', tokp,
    '--bits', '4,2', '--budget-bytes', String(budget), '--vectors', '0', '--json', '-o', pf, '--report', rf]);
  assert.is(r.status, 0, r.stderr);
  // Progress on stderr: one line per bundle.
  assert.match(r.stderr, new RegExp(`damage: ${L + 1} bundles on ${N} calibration tokens`));
  for (let i = 1; i <= L + 1; i++) assert.ok(r.stderr.includes(`damage: [${i}/${L + 1}]`), r.stderr);
  const s = JSON.parse(r.stdout);
  // --bits 4,2: measured 4 → 2 (not d's 8 → 2): compare with a fresh library measurement of that step.
  const d42 = await measureDamage(new KlMeter(g!, loadWeights(g!), stream), 4, 2);
  assert.equal(s.blocks.map((b: { deltaKl: number }) => b.deltaKl), d42.deltaKl);
  assert.is(s.damage.baseKl, d42.baseKl);
  assert.ok(s.budgetUsed <= budget, `${s.budgetUsed} > ${budget}`);
  const bits: number[] = s.blocks.map((b: { bits: number }) => b.bits);
  assert.ok(bits.includes(2) && bits.includes(4), `bits ${bits}`);
  // The lowered blocks are the least damaged ones.
  const lowered = d42.deltaKl.filter((x, i) => bits[i] === 2), kept = d42.deltaKl.filter((x, i) => bits[i] === 4);
  assert.ok(Math.max(...lowered) <= Math.min(...kept), `lowered ${lowered}, kept ${kept}`);
  // Plan file: valid, every block records its ΔKL and the rule that chose its bits.
  const json = JSON.parse(readFileSync(pf, 'utf8'));
  const spec = planFromJson(json, pf);
  assert.match(json.method, /^damage calibration=500 budget=\d+ bits=4,2 group=64$/);
  for (let i = 0; i < L; i++) {
    const b = json.blocks[String(i)];
    assert.is(spec.blocks![i].choice?.bits, bits[i]);
    assert.ok(Math.abs(b.deltaKl - d42.deltaKl[i]) <= 1e-8 * Math.abs(d42.deltaKl[i]), `block ${i}`);
    assert.match(b.rule, /^budget \d+ bytes: damage ΔKL=-?[\d.]+ \(4→2 bits on 500 calibration tokens; rank \d\/5, least damage first\) (kept at 4 bits|lowered 4 → 2 bits to fit)$/);
    assert.not.ok('entropy' in b);
  }
  const bad = JSON.parse(JSON.stringify(json)); bad.blocks['2'].deltaKl = 'big';
  assert.throws(() => planFromJson(bad, 'bad.json'), /\$\.blocks\["2"\]\.deltaKl: expected a number/);
  const html = readFileSync(rf, 'utf8');
  assert.match(html, /Measured damage per block \(ΔKL, nats\/token: the block alone 4 → 2 bits, 500 calibration tokens\)/);
  assert.is((html.match(/<circle /g) ?? []).length, L);
  assert.ok(html.includes(`<title>block 0: ΔKL=${d42.deltaKl[0].toFixed(6)} → ${bits[0]} bits</title>`));
  assert.not.match(html, /NaN|undefined|Infinity/);
});

test('damage order: ascending ΔKL; the k·σ rule without a budget', () => {
  if (!have) return;
  // Ranks in the rules are those of ascending ΔKL (computed here by counting smaller values).
  const p = planDamage(g!, d!, { budgetBytes: planEwq(g!, { bits: [8], vectors: 32 }).totalBytes - 1, bits: [8, 4, 2] });
  for (const b of p.blocks) {
    const rank = 1 + d!.deltaKl.filter((x, i) => x < d!.deltaKl[b.block] || (x === d!.deltaKl[b.block] && i < b.block)).length;
    assert.match(b.rule, new RegExp(`rank ${rank}/5,`));
  }
  // One byte under all-8: exactly one block lowered, the least damaged.
  const least = d!.deltaKl.indexOf(Math.min(...d!.deltaKl));
  assert.equal(p.blocks.map((b) => b.bits), p.blocks.map((b) => (b.block === least ? 4 : 8)));
  // k·σ: thresholds from an independent mean and population std.
  const k = 0.5, L = d!.deltaKl.length, m = d!.deltaKl.reduce((a, x) => a + x, 0) / L;
  const sd = Math.sqrt(d!.deltaKl.reduce((a, x) => a + (x - m) * (x - m), 0) / L);
  const q = planDamage(g!, d!, { k, bits: [8, 4, 2] });
  q.blocks.forEach((b, i) => {
    const x = d!.deltaKl[i];
    assert.is(b.bits, x < m - k * sd ? 2 : x > m + k * sd ? 8 : 4, `block ${i}: ΔKL ${x}`);
    assert.match(b.rule, /^damage /);
  });
  assert.ok(Math.abs(q.damage!.std - sd) < 1e-15 && Math.abs(q.damage!.mean - m) < 1e-15);
  assert.match(q.method, /^damage calibration=500 k=0\.5 bits=8,4,2 group=64$/);
  assert.match(planReportHtml(q, { title: 't' }), /mean\+0\.5·σ/);
});

test('damage budget fit (model.edgeq): exact size of the real artifact, not wastefully small, as EWQ', () => {
  if (!have) return;
  const hiTotal = planEwq(g!, { bits: [8] }).totalBytes, loTotal = planEwq(g!, { bits: [2] }).totalBytes;
  for (const frac of [0.15, 0.5, 0.85]) {
    const budget = Math.round(loTotal + frac * (hiTotal - loTotal));
    const p = planDamage(g!, d!, { budgetBytes: budget, sourcePath: ckpt });
    const actual = realArtifactBytes(ckpt, planAsFile(dir, p));
    assert.is(actual, p.totalBytes, 'the size the planner used is the emitted artifact\'s');
    assert.ok(actual <= budget, `actual ${actual} > budget ${budget}`);
    assert.is(p.budgetUsed, actual);
    const steps = p.blocks.flatMap((b, i) => (b.bits === p.bits[0] ? [] : [realArtifactBytes(ckpt, raisedPlan(dir, p, i)) - actual]));
    assert.ok(steps.length > 0);
    assert.ok(budget - actual < Math.min(...steps), `budget ${budget}, used ${actual}, smallest step ${Math.min(...steps)}`);
    // Less damage, never more bits.
    const byD = [...p.blocks].sort((a, b) => a.deltaKl! - b.deltaKl!);
    for (let i = 1; i < byD.length; i++) assert.ok(byD[i].bits >= byD[i - 1].bits, `block ${byD[i].block}`);
  }
  // (loTotal is uniform:2's plan file; the fit's all-2 plan file has default 8: a few bytes smaller.)
  try { planDamage(g!, d!, { budgetBytes: loTotal - 100, budgetName: 'the test budget', sourcePath: ckpt }); assert.unreachable(); } catch (e) {
    assert.instance(e, EdgeqError);
    assert.match((e as Error).message, /does not fit the test budget: it needs \d+ bytes with every block at 2 bits/);
  }
});

test('edgeq plan --method damage: clear errors and exit codes', async () => {
  if (!have) return;
  const o = join(dir, 'x.json');
  const miss = await cli(['plan', ckpt, '--method', 'damage', '--tokenizer', tokp, '-o', o]);
  assert.is(miss.status, 2);
  assert.match(miss.stderr, /--method damage needs --calibration <text>/);
  const noTok = await cli(['plan', ckpt, '--method', 'damage', '--calibration', text, '-o', o]);
  assert.is(noTok.status, 2);
  assert.match(noTok.stderr, /--method damage needs --tokenizer <path>/);
  const one = await cli(['plan', ckpt, '--method', 'damage', '--calibration', text, '--tokenizer', tokp, '--bits', '4', '-o', o]);
  assert.is(one.status, 2);
  assert.match(one.stderr, /--bits 4 has one width, nothing to choose between/);
  const stray = await cli(['plan', ckpt, '--calibration', text, '-o', o]);
  assert.is(stray.status, 2);
  assert.match(stray.stderr, /--calibration is for --method damage \(got --method ewq\)/);
  const short = join(dir, 'short.txt');
  writeFileSync(short, 'Once upon a time there was a cat.\n\nThe cat sat.\n');
  const sh = await cli(['plan', ckpt, '--method', 'damage', '--calibration', short, '--tokenizer', tokp, '-o', o]);
  assert.is(sh.status, 1);
  assert.match(sh.stderr, new RegExp(`${short.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: calibration text too short: \\d+ tokens \\(2 paragraphs\\) with this tokenizer, --calibration-tokens asks for 2000`));
  assert.not.ok(existsSync(o), 'no plan file written on an error');
  // Plan-only: edgeq compile --plan damage says how to get one.
  const c = await cli(['compile', ckpt, '--target', 'wasm32', '--plan', 'damage', '-o', join(dir, 'nob')]);
  assert.is(c.status, 2);
  assert.match(c.stderr, /--plan damage: the damage planner needs calibration text; run edgeq plan <checkpoint> --method damage/);
  // --calibration-skip: the tokens after the first n of the same stream.
  const tok = Tokenizer.load(tokp);
  assert.equal(calibrationTokens(tok, text, 40, 460), stream.slice(460, 500));
  assert.throws(() => calibrationTokens(tok, short, 5, 100), /calibration text too short: \d+ tokens .*asks for 5 after --calibration-skip 100/);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
