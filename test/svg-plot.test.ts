// The report plots (compiler/eval/svg-plot.ts and its two users): every input point is drawn
// once with its own hover text, the log axis spans the data's decades, and the output is
// deterministic. Expected values are written out here, not computed by the plot code.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { kvBucketSvg } from '../compiler/eval/kv-bucket-svg.ts';

const results = [
  { format: 'k12v8', kl: 0.0006, klByBucket: [0.0005, 0.0007, 0.0006, 0.0006] },
  { format: 'k4v4,w32,rot', kl: 0.0066, klByBucket: [0.002, 0.006, 0.008, 0.011] },
];

test('kvBucketSvg draws every (format, bucket) once, labelled, on a log axis from 1e-4 to 1e-1', () => {
  const svg = kvBucketSvg('t', 256, results);
  assert.is((svg.match(/<circle /g) ?? []).length, 8);
  assert.is((svg.match(/<polyline /g) ?? []).length, 2);
  assert.ok(svg.includes('<title>k4v4,w32,rot: positions 192–255, KL 0.0110</title>'), 'last bucket of the second format');
  assert.ok(svg.includes('<title>k12v8: positions 0–63, KL 0.000500</title>'));
  for (const e of ['1e-4', '1e-3', '1e-2', '1e-1']) assert.ok(svg.includes(`>${e}</text>`), e);
  assert.not.ok(svg.includes('>1e-5<') || svg.includes('>1e0<'), 'axis spans only the data decades');
  for (const x of ['0', '64', '128', '192', '256']) assert.ok(svg.includes(`text-anchor="middle">${x}</text>`), `x tick ${x}`);
  assert.ok(svg.includes('k4v4,w32,rot (0.0066)'), 'legend names format and mean KL');
  assert.is(kvBucketSvg('t', 256, results), svg, 'deterministic');
});

test('kvBucketSvg escapes a format name for XML', () => {
  const svg = kvBucketSvg('a<b', 8, [{ format: 'x&y', kl: 0.1, klByBucket: [0.1, 0.2] }]);
  assert.ok(svg.includes('a&lt;b') && svg.includes('x&amp;y'));
  assert.not.ok(/<b|x&y/.test(svg));
});

test.run();
