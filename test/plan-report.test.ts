// `edgeq plan --report`: the HTML page is deterministic, self-contained (no scripts, no
// external assets), carries the SVG chart (a point per block, a bar per block, the budget
// line) and the plan table, escapes text, and is written next to the plan. The rendering in
// a real browser is checked by `npm run check:report` (headless Chromium; not part of npm test).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SHAPES, writeSynth } from '../compiler/synth/synth.ts';
import { openModel } from '../compiler/import/open-model.ts';
import { modelEntropies } from '../compiler/plan/entropy.ts';
import { planEwq } from '../compiler/plan/ewq.ts';
import { planFastEwq } from '../compiler/plan/fastewq.ts';
import { BITS_COLOURS, planReportHtml } from '../compiler/plan/report.ts';
import { cli } from './helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'edgeq-report-'));
const ckpt = join(dir, 's.bin');
writeSynth(ckpt, { ...SHAPES.stories260K }, 5);
const g = openModel(ckpt);
const entropies = modelEntropies(g);

const selfContained = (html: string) => {
  assert.not.match(html, /<script|<link|<img|<iframe|@import|url\(/i);
  assert.not.match(html, /\s(src|href)=/i);
  // The only URL is the SVG namespace.
  assert.equal([...html.matchAll(/https?:\/\/[^"\s]+/g)].map((m) => m[0]), ['http://www.w3.org/2000/svg']);
};

test('report: deterministic, self-contained, one point and one bar per block, the plan table', () => {
  const p = planEwq(g, { entropies });
  const a = planReportHtml(p, { title: 's.bin' }), b = planReportHtml(planEwq(g, { entropies }), { title: 's.bin' });
  assert.is(a, b);
  selfContained(a);
  assert.ok(a.startsWith('<!DOCTYPE html>'));
  assert.is((a.match(/<circle /g) ?? []).length, g.config.nLayers);
  for (const blk of p.blocks) {
    assert.ok(a.includes(`<title>block ${blk.block}: ${blk.bits} bits, ${blk.bytes} bytes</title>`), `bar of block ${blk.block}`);
    assert.ok(a.includes(`fill="${BITS_COLOURS[blk.bits]}"`));
  }
  assert.match(a, /mean\+0\.5·σ/);
  assert.ok(a.includes(`= ${p.totalBytes} bytes`));
  assert.is((a.match(/<tr><td>\d+<\/td><td>[\d.]+<\/td><td><span/g) ?? []).length, g.config.nLayers);
  assert.not.match(a, /class="budget"/);
  assert.not.match(a, /NaN|undefined|Infinity/);
});

test('report: budget line and fit; escaping; FastEWQ plans without entropies', () => {
  const p = planEwq(g, { entropies, bits: [8, 4], budgetBytes: 300000 });
  const h = planReportHtml(p, { title: '<a&b>' });
  assert.match(h, /class="budget"/);
  assert.match(h, /vs budget 300000 bytes \(293\.0 KiB\): fits/);
  assert.match(h, /edgeq plan: &lt;a&amp;b&gt;/);
  assert.not.match(h, /<a&b>/);
  const f = planReportHtml(planFastEwq(g.config), { title: 'f' });
  selfContained(f);
  assert.match(f, /No entropies: fastewq/);
  assert.is((f.match(/<circle /g) ?? []).length, 0);
  assert.not.match(f, /NaN|undefined/);
});

test('edgeq plan --report writes the page (same bytes on a second run)', async () => {
  const html = join(dir, 'r.html');
  const r = await cli(['plan', ckpt, '--report', html, '-o', join(dir, 'r.json')]);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /wrote .*r\.json and .*r\.html/);
  const first = readFileSync(html, 'utf8');
  selfContained(first);
  assert.match(first, /<svg xmlns/);
  const r2 = await cli(['plan', ckpt, '--report', html, '-o', join(dir, 'r.json')]);
  assert.is(r2.status, 0, r2.stderr);
  assert.is(readFileSync(html, 'utf8'), first);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
