// The quality harness (scripts/quality.ts, compiler/eval/quality.ts) on a tiny slice: a
// synthetic stories260K-shaped model with seqLen 32 and 200 seeded tokens. Expected values
// come from the definitions (a plan against itself, the shapes' weight counts, the window
// arithmetic), not from the harness.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SHAPES, synthWeights } from '../compiler/synth/synth.ts';
import { intEngine } from '../compiler/eval/teacher-forced.ts';
import { quantizeInt8 } from '../compiler/quantize/int8.ts';
import { blockMatrixBytes, blockWeights, frontier, scoreBoth } from '../compiler/eval/quality.ts';
import { qualitySvg } from '../compiler/eval/quality-svg.ts';
import { NOTES_MARKER, keepNotes, measureModel, planOf, qualityMarkdown } from '../scripts/quality.ts';
import { Rng } from '../compiler/synth/prng.ts';

const c = { ...SHAPES.stories260K, seqLen: 32 };
const w = synthWeights(c, 3);
const rng = new Rng(15, 'quality');
const stream = Array.from({ length: 200 }, () => 2 + (rng.next() % (c.vocabSize - 2)));

test('a plan scored against itself: KL 0, top-1 1, the same perplexity; half counts the second half of each window', () => {
  const m = quantizeInt8(w, { plan: planOf('uniform:4g64', c.nLayers) });
  const s = scoreBoth(stream, intEngine(m), intEngine(m), c.seqLen);
  assert.is(s.all.meanKL, 0);
  assert.is(s.all.top1Agreement, 1);
  assert.is(s.all.pplTest, s.all.pplRef);
  assert.is(s.all.tokens, 200);
  // Windows of 31 predictions (positions 0..30); positions 16..30 are the second half: 6
  // full windows give 6 x 15, the last (200 - 186 = 14 predictions, positions 0..13) none.
  assert.is(s.half.tokens, 6 * 15);
});

test('block bits: int8 stores rows x cols bytes plus 3 bytes of row scale per row', () => {
  const m = quantizeInt8(w, { plan: planOf('uniform:8', c.nLayers) });
  const { dim, hiddenDim: hd, nLayers } = c;
  const kv = (dim / c.nHeads) * c.nKvHeads;
  const perBlock = dim * dim * 2 + kv * dim * 2 + 3 * hd * dim; // wq, wo, wk, wv, w1, w2, w3
  const rows = dim * 2 + kv * 2 + hd * 2 + dim;
  assert.is(blockWeights(w), nLayers * perBlock);
  assert.is(blockMatrixBytes(m), nLayers * (perBlock + 3 * rows));
});

test('8 bits beat 2 bits; the report, the JSON-able rows and the SVG are produced', async () => {
  const rows = await measureModel('synth', w, stream, ['uniform:8', 'uniform:2g64', 'mix:4g32+v5w2_5']);
  const [r8, r2] = rows;
  assert.ok(r8.all.meanKL < r2.all.meanKL && r8.half.meanKL < r2.half.meanKL, `${r8.all.meanKL} < ${r2.all.meanKL}`);
  assert.ok(r8.blockBpw > r2.blockBpw && rows[2].blockBpw > r2.blockBpw);
  const md = qualityMarkdown(rows, 200);
  for (const p of ['uniform:8', 'uniform:2g64', 'mix:4g32+v5w2_5']) assert.ok(md.includes(`| synth | ${p}`) || md.includes(`| synth | ★ ${p}`), p);
  const svg = qualitySvg('t', [{ name: 'synth', points: rows.map((r) => ({ plan: r.plan, bpw: r.blockBpw, kl: r.all.meanKL })) }]);
  // Well-formed: every opened element is closed in order.
  const stack: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([a-z]+)[^>]*?(\/?)>/g)) {
    if (m[1]) assert.is(stack.pop(), m[2]); else if (!m[3]) stack.push(m[2]);
  }
  assert.equal(stack, []);
  assert.is(svg.match(/<circle /g)!.length, 3);
});

test('a rewritten report keeps the notes from the marker on, and only those', () => {
  const notes = `${NOTES_MARKER}\n\n## Measured elsewhere\n\n| a | b |\n`;
  assert.is(keepNotes(`# old table\n\n${notes}`, '# new table\n'), `# new table\n\n${notes}`);
  assert.is(keepNotes('# old table without notes\n', '# new table\n'), '# new table\n');
  assert.is(keepNotes(null, '# new table\n'), '# new table\n');
});

test('frontier: the points no other point beats on both bits and KL', () => {
  const p = (plan: string, bpw: number, kl: number) => ({ plan, bpw, kl });
  const pts = [p('a', 8, 0.001), p('b', 6, 0.003), p('c', 6.5, 0.004), p('d', 4, 0.05), p('e', 4.5, 0.02), p('f', 5, 0.03)];
  assert.equal(frontier(pts).map((x) => x.plan), ['d', 'e', 'b', 'a']);
});

test.run();
