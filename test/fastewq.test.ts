// FastEWQ (compiler/plan/fastewq.ts): deterministic predictions from the configuration alone,
// the shipped tree, plan files that compile, the trainer, and the shipped model's freshness
// (scripts/train-fastewq.ts --check recomputes it; needs the real checkpoints, ~15 s).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SHAPES, writeSynth } from '../compiler/synth/synth.ts';
import { planFromJson } from '../compiler/plan/plan.ts';
import { ewqPlanJson } from '../compiler/plan/ewq.ts';
import {
  blockFeatures, fastEwqPlanSpec, loadFastEwqModel, planFastEwq, predictBlocks, predictClass, trainTree, type Sample,
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

test('FastEWQ plan files parse; sizes use the EWQ size model', () => {
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

test('edgeq plan --method fastewq; budget refused', async () => {
  const ckpt = join(dir, 's.bin');
  writeSynth(ckpt, { ...SHAPES.stories260K }, 3);
  const out = join(dir, 'f.json');
  const r = await cli(['plan', ckpt, '--method', 'fastewq', '-o', out]);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /no weights read/);
  assert.match(r.stdout, /FastEWQ (low|mid|high) → /);
  planFromJson(JSON.parse(readFileSync(out, 'utf8')), out);
  const bad = await cli(['plan', ckpt, '--method', 'fastewq', '--budget-bytes', '300000', '-o', join(dir, 'no.json')]);
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /no budget fitting/);
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
