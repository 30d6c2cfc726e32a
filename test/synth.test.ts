// Synthetic checkpoints: deterministic to the byte (pinned hashes catch any drift across
// machines or code changes), seed-sensitive, valid, and statistically shaped like a
// trained model.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SHAPES, outlierChannels, synthTensor, synthWeights, writeSynth } from '../compiler/synth/synth.ts';
import { Rng } from '../compiler/synth/prng.ts';
import { openModel } from '../compiler/import/open-model.ts';
import { checkFinite } from '../compiler/import/finite.ts';
import { totalParams } from '../compiler/import/params.ts';

const dir = mkdtempSync(join(tmpdir(), 'edgeq-synth-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

test('the PRNG is pinned (xoshiro128**, checked against an independent implementation)', () => {
  const r = new Rng(42, 'x');
  assert.equal([r.next(), r.next(), r.next()], [4145581409, 514322385, 2453357706]);
  assert.is(r.gauss(), -1.7524658927986243);
  assert.is(r.gauss(), -0.6280405477536838);
  assert.is(r.uniform(), 0.10340131516568363);
});

// If one of these changes, every synthetic benchmark number changes with it: only update
// them on purpose (and say so in the change).
const PINNED: Array<[keyof typeof SHAPES, 'v0' | 'v1', string]> = [
  ['stories260K', 'v0', '0c02185c1327080b9ba60d685a5787d235ee92945e38faff447f92a401d256ea'],
  ['stories260K', 'v1', '6e8beddd49d12882fb8c198757357dd68ea28d9b98b61cb4065f71323aee4fc0'],
  ['babyllama936K', 'v1', '7c6a4f5b3b2ef30e62ca2d5e822ceb5b5009eb9290e79e52668546c8f99dbcb8'],
  ['stories15M', 'v0', '0fd5afe7a800d5658d1e01160f44dcf9cfb9a9fe374d0b8adbc2dc755f586ae7'],
];
for (const [shape, format, hash] of PINNED) {
  test(`${shape} ${format} seed 1 has its pinned sha256`, () => {
    const p = join(dir, `${shape}-${format}.bin`);
    const bytes = writeSynth(p, SHAPES[shape], 1, { format });
    assert.is(readFileSync(p).length, bytes);
    assert.is(sha(p), hash);
    rmSync(p);
  });
}

test('same seed: identical bytes; different seed: different bytes', () => {
  const a = join(dir, 'a.bin'), b = join(dir, 'b.bin'), c = join(dir, 'c.bin');
  writeSynth(a, SHAPES.stories260K, 9);
  writeSynth(b, SHAPES.stories260K, 9);
  writeSynth(c, SHAPES.stories260K, 10);
  assert.ok(readFileSync(a).equals(readFileSync(b)));
  const x = readFileSync(a), y = readFileSync(c);
  assert.ok(x.subarray(0, 28).equals(y.subarray(0, 28)), 'same header');
  const rope = 2 * 512 * 4 * 4; // v0's RoPE tables at the end depend on the shape only
  let same = 0;
  for (let i = 28; i < x.length - rope; i += 4) if (x.readUInt32LE(i) === y.readUInt32LE(i)) same++;
  assert.ok(same < 0.001 * (x.length / 4), `${same} equal weights`);
});

test('v0 and v1 of one seed hold the same weights; files import and validate', () => {
  for (const name of ['stories260K', 'babyllama936K'] as const) {
    const c = SHAPES[name];
    const p0 = join(dir, `${name}-0.bin`), p1 = join(dir, `${name}-1.bin`);
    writeSynth(p0, c, 3, { format: 'v0' });
    writeSynth(p1, c, 3, { format: 'v1' });
    const g0 = openModel(p0), g1 = openModel(p1);
    assert.equal(g0.config, c);
    assert.equal(g1.config, c);
    assert.is(checkFinite(g1).values, totalParams(c));
    for (const [n, t] of g0.tensors) assert.equal(t.read(), g1.tensors.get(n)!.read(), n);
  }
});

test('synthWeights matches the file, and unshared shapes get their own wcls', () => {
  const c = { ...SHAPES.stories260K, sharedClassifier: false };
  const p = join(dir, 'unshared.bin');
  writeSynth(p, c, 4, { format: 'v1' });
  const g = openModel(p);
  const w = synthWeights(c, 4);
  assert.equal(g.tensors.get('wcls')!.read(), w.wcls);
  assert.equal(g.tensors.get('blocks.3.w2')!.read(), w.blocks[3].w2);
  assert.is.not(w.wcls, w.tokEmbeddings);
  const shared = synthWeights(SHAPES.stories260K, 4);
  assert.ok(shared.wcls === shared.tokEmbeddings);
});

const std = (a: Float32Array) => {
  let s = 0, s2 = 0;
  for (const v of a) { s += v; s2 += v * v; }
  return Math.sqrt(s2 / a.length - (s / a.length) ** 2);
};

test('statistics look trained: per-layer gains, norms near their means, outlier channels', () => {
  const c = SHAPES.stories15M;
  // gain = std * sqrt(fan_in), see compiler/synth/weights.ts (+-8% jitter, realised spreads).
  const gain = (n: string, fanIn: number) => std(synthTensor(c, 1, n)) * Math.sqrt(fanIn);
  assert.ok(Math.abs(gain('blocks.0.wq', 288) - 2.0) < 0.4);
  assert.ok(gain('blocks.0.wv', 288) < gain('blocks.5.wv', 288), 'wv grows with depth');
  assert.ok(Math.abs(gain('blocks.2.w2', 768) - 1.65) < 0.3);
  const emb = synthTensor(c, 1, 'tok_embeddings');
  assert.ok(Math.abs(std(emb) - 1.7 / Math.sqrt(288)) < 0.03);
  // Outlier channels stand out in the embedding's column norms.
  const colStd = (j: number) => { let s = 0; for (let r = 0; r < c.vocabSize; r++) s += emb[r * 288 + j] ** 2; return Math.sqrt(s / c.vocabSize); };
  const out = outlierChannels(c, 1);
  assert.is(out.length, Math.round(288 / 64));
  const normal = colStd(out.includes(0) ? 1 : 0);
  for (const ch of out) assert.ok(colStd(ch) > 2 * normal, `channel ${ch}`);
  const rms = synthTensor(c, 1, 'blocks.0.rms_ffn');
  assert.ok(rms.every((v) => v > 0));
  // Kurtosis of wq > 5 (trained attention weights are heavy-tailed; Gaussian is 3).
  const wq = synthTensor(c, 1, 'blocks.1.wq');
  const s = std(wq);
  const kurt = wq.reduce((k, v) => k + (v / s) ** 4, 0) / wq.length;
  assert.ok(kurt > 5, `kurtosis ${kurt}`);
});

test.run();
