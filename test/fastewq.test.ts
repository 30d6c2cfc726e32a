// tier: slow (over ~10 s; npm run test:quick skips it, npm test runs it)
// FastEWQ (compiler/plan/fastewq.ts): deterministic predictions from the configuration alone,
// the shipped tree, plan files that compile, the trainer, and the shipped model's freshness
// (scripts/train-fastewq.ts --check recomputes it; needs the real checkpoints, ~15 s).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SHAPES, writeSynth } from '../compiler/synth/synth.ts';
import { planFromJson } from '../compiler/plan/plan.ts';
import { ewqPlanJson } from '../compiler/plan/ewq.ts';
import {
  blockFeatures, fastEwqOrder, fastEwqPlanSpec, loadFastEwqModel, planFastEwq, predictBlocks, predictClass, trainTree, type Sample,
} from '../compiler/plan/fastewq.ts';
import { Rng } from '../compiler/synth/prng.ts';
import { cli } from './helpers/cli.ts';

const ROOT = resolve(import.meta.dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'edgeq-fastewq-'));

test('features and predictions depend only on the configuration, deterministically', () => {
  const c = { ...SHAPES.stories260K };
  assert.equal(blockFeatures(c, 4), [4, 1, 2 * 64 * 64 + 2 * 32 * 64 + 3 * 64 * 172, 5, 64, 172]);
  const m = loadFastEwqModel();
  assert.is(m.fastEwqModel, 1);
  const a = predictBlocks(c, m).map((b) => b.cls), b = predictBlocks({ ...c }, JSON.parse(JSON.stringify(m))).map((x) => x.cls);
  assert.equal(a, b);
  assert.is(a.length, 5);
  for (const name of Object.keys(SHAPES) as Array<keyof typeof SHAPES>) {
    const p = planFastEwq({ ...SHAPES[name] });
    assert.is(p.blocks.length, SHAPES[name].nLayers);
    assert.ok(p.blocks.every((x) => [8, 4, 2].includes(x.bits) && /^FastEWQ (low|mid|high) → \d bits \(/.test(x.rule)));
    assert.equal(planFastEwq({ ...SHAPES[name] }), p);
  }
  // --bits maps the classes low/mid/high to the lowest/middle/highest.
  const two = planFastEwq(c, { bits: [8, 4] }).blocks.map((x) => x.bits), three = planFastEwq(c).blocks.map((x) => x.bits);
  three.forEach((bits, i) => assert.is(two[i], bits === 8 ? 8 : 4));
});

test('FastEWQ plan files parse; sizes use the exact size model', () => {
  const c = { ...SHAPES.babyllama936K };
  const p = planFastEwq(c);
  const j = ewqPlanJson(p);
  assert.not.ok(JSON.stringify(j).includes('entropy'));
  const spec = planFromJson(j, 'fastewq');
  assert.is(spec.kind, 'file');
  assert.is(fastEwqPlanSpec(c).kind, 'file');
  assert.ok(p.totalBytes > p.fixedBytes + p.overheadBytes);
  assert.is(p.totalBytes, p.fixedBytes + p.overheadBytes + p.blocks.reduce((s, b) => s + b.bytes, 0));
});

test('trainTree: deterministic, learns a separable rule, merges useless splits', () => {
  const rng = new Rng(1, 'fastewq-test');
  const data: Sample[] = Array.from({ length: 120 }, () => {
    const x = [rng.next() % 10, rng.uniform(), 1000, 5, 64, 172];
    return { x, y: x[0] < 3 ? 0 : x[0] < 7 ? 1 : 2 };
  });
  const t = trainTree(data, 3, 2);
  assert.equal(trainTree(data, 3, 2), t);
  assert.ok(data.every((s) => predictClass(t, s.x) === s.y));
  assert.equal(trainTree(data.map((s) => ({ ...s, y: 1 })), 3, 2), { counts: [0, 120, 0] });
});

test('edgeq plan --method fastewq; with a budget: FastEWQ order, plan → compile fits exactly', async () => {
  const ckpt = join(dir, 's.bin');
  writeSynth(ckpt, { ...SHAPES.stories260K }, 3);
  const out = join(dir, 'f.json');
  const r = await cli(['plan', ckpt, '--method', 'fastewq', '-o', out]);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /no weights read/);
  assert.match(r.stdout, /FastEWQ (low|mid|high) → /);
  planFromJson(JSON.parse(readFileSync(out, 'utf8')), out);

  const c = { ...SHAPES.stories260K };
  const order = fastEwqOrder(c);
  assert.equal([...order].sort(), [0, 1, 2, 3, 4]);
  // Predicted classes never go down along the order (low first, high last).
  const cls = predictBlocks(c).map((b) => ['low', 'mid', 'high'].indexOf(b.cls));
  for (let i = 1; i < order.length; i++) assert.ok(cls[order[i]] >= cls[order[i - 1]]);
  const u8 = planFastEwq(c, { bits: [8], vectors: 0 }).totalBytes, u4 = planFastEwq(c, { bits: [4], vectors: 0 }).totalBytes;
  const budget = Math.round((u8 + u4) / 2) + 23000; // about half the blocks at 4 bits, with a ~23 KB runtime
  const pf = join(dir, 'fit.json');
  const j = await cli(['plan', ckpt, '--method', 'fastewq', '--bits', '8,4', '--budget-bytes', String(budget), '--vectors', '0', '--json', '-o', pf]);
  assert.is(j.status, 0, j.stderr);
  const s = JSON.parse(j.stdout);
  const bits: number[] = s.blocks.map((b: { bits: number }) => b.bits);
  assert.ok(bits.includes(4) && bits.includes(8), `bits ${bits}`);
  // Lowered blocks are a prefix of FastEWQ's order.
  for (let i = 1; i < order.length; i++) assert.ok(bits[order[i]] >= bits[order[i - 1]], `order ${order}, bits ${bits}`);
  assert.match(s.blocks[0].rule, /^budget \d+ bytes: FastEWQ rank \d\/5/);
  const bundle = join(dir, 'fit');
  const cr = spawnSync(process.execPath, ['bin/edgeq.mjs', 'compile', ckpt, '--target', 'wasm32', '--vectors', '0', '--plan', pf, '-o', bundle], { cwd: ROOT, encoding: 'utf8' });
  assert.is(cr.status, 0, cr.stderr);
  const a = statSync(join(bundle, 'model.edgeq')).size, rt = statSync(join(bundle, 'runtime.wasm')).size;
  assert.is(a, s.device.artifact);
  assert.is(rt, s.device.runtime);
  assert.ok(a + rt <= budget, `${a + rt} > ${budget}`);
  // Not wastefully small: one more 8-bit block (the step the fit took last) would not fit.
  const step = planFastEwq(c, { bits: [8], vectors: 0 }).totalBytes - planFastEwq(c, { bits: [4], vectors: 0 }).totalBytes;
  // (+64: the runtime's op-count constant and the artifact's alignment padding vary by a few bytes between the two plans.)
  assert.ok(budget - (a + rt) < step / 5 + 64, `spare ${budget - (a + rt)}, step ${step / 5}`);
});

const models = process.env.EDGEQ_MODELS ?? resolve(ROOT, '../shared/models');
test('the shipped fastewq-model.json is what scripts/train-fastewq.ts produces', () => {
  if (!existsSync(join(models, 'stories260K.bin')) || !existsSync(join(models, 'babyllama936K.bin'))) {
    console.log('  (skipped: the real checkpoints are not in ' + models + ')');
    return;
  }
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/train-fastewq.ts', '--check'], { cwd: ROOT, encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /the shipped model is what the script produces/);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
