// tier: slow (over ~10 s; npm run test:quick skips it, npm test runs it)
// Evaluation machinery: metrics, BOS-led windows, teacher forcing, the text stream, the
// ablation simulator (which must reduce to the float model with every step off and track
// the integer engine with every step on), and GPTQ end to end on a real model.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { haveModels, model } from './helpers/models.ts';
import { MetricsAccumulator, argmax, klFromLogProbs, logSoftmax } from '../compiler/eval/metrics.ts';
import { BOS, intEngine, teacherForced, windows } from '../compiler/eval/teacher-forced.ts';
import { textTokens } from '../compiler/eval/text-stream.ts';
import { AblationTransformer, SITES } from '../compiler/eval/ablate.ts';
import { openModel } from '../compiler/import/open-model.ts';
import { loadWeights } from '../compiler/import/graph.ts';
import { FloatTransformer } from '../compiler/reference/float/forward.ts';
import { quantizeInt8 } from '../compiler/quantize/int8.ts';

test('metrics: log-softmax, KL, argmax ties, perplexity', () => {
  const l = [1, 2, 3, 1000];
  const ls = logSoftmax(l);
  assert.ok(Math.abs(ls.reduce((s, v) => s + Math.exp(v), 0) - 1) < 1e-12, 'stable for large logits');
  assert.is(klFromLogProbs(ls, ls), 0);
  // KL between two 2-way distributions, by hand.
  const p = logSoftmax([0, 0]), q = logSoftmax([Math.log(3), 0]); // (1/2, 1/2) vs (3/4, 1/4)
  assert.ok(Math.abs(klFromLogProbs(p, q) - (0.5 * Math.log(0.5 / 0.75) + 0.5 * Math.log(0.5 / 0.25))) < 1e-12);
  assert.is(argmax([1, 5, 5, 2]), 1);
  const acc = new MetricsAccumulator();
  acc.add([0, 0], [0, 0], 1);
  acc.add([0, Math.log(3)], [Math.log(3), 0], 1);
  const r = acc.result();
  assert.is(r.tokens, 2);
  assert.is(r.top1Agreement, 0.5);
  assert.ok(Math.abs(r.pplRef - Math.exp(-(Math.log(0.5) + Math.log(0.75)) / 2)) < 1e-12);
});

test('windows: BOS first, seqLen positions at most, every stream token exactly once', () => {
  const stream = Array.from({ length: 23 }, (_, i) => 100 + i);
  const ws = windows(stream, 8);
  assert.ok(ws.every((w) => w[0] === BOS && w.length <= 8));
  assert.equal(ws.flatMap((w) => w.slice(1)), stream);
  assert.is(ws.length, Math.ceil(23 / 7));
});

test('teacher forcing an engine against itself: agreement 1, KL 0, equal perplexities', () => {
  const logits = (t: number, p: number) => Float64Array.from({ length: 16 }, (_, i) => Math.sin(i * (t + 1) + p));
  const m = teacherForced([3, 5, 7, 9, 11, 2, 4], { forward: logits }, { forward: logits }, { seqLen: 4 });
  assert.is(m.tokens, 7);
  assert.is(m.top1Agreement, 1);
  assert.is(m.meanKL, 0);
  assert.is(m.pplRef, m.pplTest);
});

test('a window engine (the API\'s evaluate, as edgeq eval uses it) is fed each window but its last token, positions in order', () => {
  const logits = (t: number, p: number) => Float64Array.from({ length: 16 }, (_, i) => Math.cos(i * (t + 2) - p));
  const ref = { forward: (t: number, p: number) => Float64Array.from({ length: 16 }, (_, i) => Math.sin(i * (t + 1) + p)) };
  const stream = [3, 5, 7, 9, 11, 2, 4, 6];
  const fed: number[][] = [];
  const byWindow = teacherForced(stream, ref, {
    window(tokens, each) { fed.push(tokens.slice()); tokens.forEach((t, p) => each(logits(t, p), p)); },
  }, { seqLen: 4 });
  // Windows of 4 are [BOS, 3, 5, 7], [BOS, 9, 11, 2], [BOS, 4, 6]: the last token is only predicted.
  assert.equal(fed, [[BOS, 3, 5], [BOS, 9, 11], [BOS, 4]]);
  assert.equal(byWindow, teacherForced(stream, ref, { forward: logits }, { seqLen: 4 }));
});

test('text stream: paragraphs encoded with the model tokenizer', () => {
  if (!haveModels) return;
  const s = textTokens(model('tok512.bin'), model('tinystories-valid-head.txt'), 500);
  assert.is(s.tokens.length, 500);
  assert.ok(s.tokens.every((t) => Number.isInteger(t) && t >= 3 && t < 512), 'no BOS/EOS inside the stream');
  const b = textTokens(model('tok105.bin'), model('tinystories-valid-head.txt'), 500);
  assert.ok(b.tokens.every((t) => t < 105));
});

test('ablation simulator: all steps off = the float model; all on tracks the integer engine', () => {
  if (!haveModels) return;
  const w = loadWeights(openModel(model('stories260K.bin')));
  const stream = textTokens(model('tok512.bin'), model('tinystories-valid-head.txt'), 300).tokens;
  const ft = () => new FloatTransformer(w);
  const off = teacherForced(stream, ft(), new AblationTransformer(w, { sites: new Set() }), { seqLen: 512 });
  assert.ok(off.meanKL < 1e-8 && off.top1Agreement === 1, `float64 vs float32: ${off.meanKL}`);
  const sim = teacherForced(stream, ft(), new AblationTransformer(w, { sites: new Set(SITES) }), { seqLen: 512 });
  const int = teacherForced(stream, ft(), intEngine(quantizeInt8(w)), { seqLen: 512 });
  assert.ok(Math.abs(Math.log(sim.meanKL / int.meanKL)) < Math.log(2), `simulated KL ${sim.meanKL} vs integer ${int.meanKL}`);
});

test('GPTQ end to end on stories260K: deterministic, and closer to float than rounding', () => {
  if (!haveModels) return;
  const w = loadWeights(openModel(model('stories260K.bin')));
  const gptq = { sequences: 4, length: 128 };
  const a = quantizeInt8(w, { gptq }), b = quantizeInt8(w, { gptq });
  assert.ok(a.tensors.every((t, i) => Buffer.from(t.data.buffer).equals(Buffer.from(b.tensors[i].data.buffer))), 'same bytes');
  const stream = textTokens(model('tok512.bin'), model('tinystories-valid-head.txt'), 1500).tokens;
  const g = teacherForced(stream, new FloatTransformer(w), intEngine(a), { seqLen: 512 });
  const r = teacherForced(stream, new FloatTransformer(w), intEngine(quantizeInt8(w)), { seqLen: 512 });
  assert.ok(g.meanKL < r.meanKL, `GPTQ KL ${g.meanKL} vs round-to-nearest ${r.meanKL}`);
  assert.ok(g.meanKL < 0.005 && g.top1Agreement > 0.98);
});

test.run();
