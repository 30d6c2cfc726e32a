// The float reference must reproduce llama2.c's forward pass: its logits against the
// golden files llama2.c wrote (../shared/models/golden, see PROVENANCE.md), and the greedy
// tokens exactly.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { openModel } from '../compiler/import/open-model.ts';
import { loadWeights, type FloatWeights } from '../compiler/import/graph.ts';
import { FloatTransformer, softmax } from '../compiler/reference/float/forward.ts';
import { sampleArgmax } from '../compiler/reference/float/sampler.ts';
import { model } from './helpers/models.ts';

const TOLERANCE = 1e-4;
const weights = new Map<string, FloatWeights>();
const load = (m: string) => {
  if (!weights.has(m)) weights.set(m, loadWeights(openModel(model(`${m}.bin`))));
  return weights.get(m)!;
};

function golden(m: string): { tokens: number[]; logits: Float32Array } {
  const tokens = readFileSync(model(`golden/${m}.greedy32.tokens.txt`), 'utf8').trim().split(/\s+/).map(Number);
  const b = readFileSync(model(`golden/${m}.greedy32.logits.f32`));
  return { tokens, logits: new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length)) };
}

for (const m of ['stories260K', 'babyllama936K']) {
  test(`${m}: logits within ${TOLERANCE} of llama2.c at all 32 positions, greedy tokens identical`, () => {
    const w = load(m);
    const V = w.config.vocabSize;
    const g = golden(m);
    assert.is(g.logits.length, 32 * V);
    assert.is(g.tokens[0], 1);
    const t = new FloatTransformer(w);
    let maxErr = 0;
    for (let pos = 0; pos < 32; pos++) {
      const logits = t.forward(g.tokens[pos], pos);
      for (let i = 0; i < V; i++) {
        const err = Math.abs(logits[i] - g.logits[pos * V + i]);
        if (!(err <= TOLERANCE)) assert.unreachable(`pos ${pos} logit ${i}: ${logits[i]} vs ${g.logits[pos * V + i]}`);
        maxErr = Math.max(maxErr, err);
        // Position 0 involves no RoPE angle and no multi-entry softmax, where glibc's
        // last-bit libm differences come in: there the float32 emulation is bit-exact.
        if (pos === 0 && logits[i] !== g.logits[i]) assert.unreachable(`pos 0 logit ${i} not bit-exact`);
      }
      assert.is(sampleArgmax(logits), g.tokens[pos + 1], `greedy token at pos ${pos}`);
    }
    assert.ok(maxErr < 5e-5, `max error ${maxErr} drifted up from the measured ~1e-5`);
  });
}

test('float64 accumulation (the fast option) also meets the bar and the greedy tokens', () => {
  for (const m of ['stories260K', 'babyllama936K']) {
    const w = load(m), V = w.config.vocabSize, g = golden(m);
    const t = new FloatTransformer(w, { accumulate: 'float64' });
    for (let pos = 0; pos < 32; pos++) {
      const logits = t.forward(g.tokens[pos], pos);
      for (let i = 0; i < V; i++) {
        if (!(Math.abs(logits[i] - g.logits[pos * V + i]) <= TOLERANCE)) assert.unreachable(`${m} pos ${pos} logit ${i}`);
      }
      assert.is(sampleArgmax(logits), g.tokens[pos + 1]);
    }
  }
});

test('a separate classifier (negative vocab_size in v0) is used for the logits', () => {
  const w = load('stories260K');
  const wcls = w.tokEmbeddings.map((v) => v * 2); // exact in float32
  const separate = { ...w, config: { ...w.config, sharedClassifier: false }, wcls };
  const a = new FloatTransformer(w).forward(1, 0);
  const b = new FloatTransformer(separate).forward(1, 0);
  for (let i = 0; i < a.length; i++) assert.is(b[i], a[i] * 2);
});

test('forward rejects out-of-range tokens and positions', () => {
  const t = new FloatTransformer(load('stories260K'));
  assert.throws(() => t.forward(512, 0), /outside vocabulary/);
  assert.throws(() => t.forward(1, 512), /outside \[0, 512\)/);
});

test('softmax sums to 1 and keeps order', () => {
  const x = Float32Array.of(1, 2, 3, 3);
  softmax(x);
  assert.ok(Math.abs(x.reduce((a, b) => a + b, 0) - 1) < 1e-6);
  assert.ok(x[0] < x[1] && x[1] < x[2] && x[2] === x[3]);
});

test.run();
