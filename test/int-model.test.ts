// The integer reference model end to end: agreement with llama2.c's own float logits on
// the golden token runs of both real checkpoints, determinism to the byte (conformance
// hashes of two independent quantizations and runs), and the stories15M shape at usable
// speed. Hashes are not pinned here: a value computed by the code under test proves
// nothing; the runtime-vs-reference tests compare two independent implementations.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { haveModels, model, MODELS } from './helpers/models.ts';
import { openModel } from '../compiler/import/open-model.ts';
import { loadWeights } from '../compiler/import/graph.ts';
import { quantizeInt8 } from '../compiler/quantize/int8.ts';
import { IntTransformer, Xorshift64Star, argmaxInt } from '../runtime/reference/model.ts';
import { argmax, klFromLogProbs, logSoftmax } from '../compiler/eval/metrics.ts';
import { SHAPES, synthWeights } from '../compiler/synth/synth.ts';
import { FloatTransformer } from '../compiler/reference/float/forward.ts';
import { AblationTransformer, SITES } from '../compiler/eval/ablate.ts';
import { fnv1a64 } from '../compiler/emit/conformance-hash.ts';

function golden(name: string): { tokens: number[]; logits: Float32Array } {
  const tokens = readFileSync(`${MODELS}/golden/${name}.greedy32.tokens.txt`, 'utf8').trim().split(/\s+/).map(Number);
  const b = readFileSync(`${MODELS}/golden/${name}.greedy32.logits.f32`);
  return { tokens, logits: new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4) };
}

for (const name of ['stories260K', 'babyllama936K']) {
  test(`${name}: integer logits agree with llama2.c's float logits on the golden run`, () => {
    if (!haveModels) return;
    const w = loadWeights(openModel(model(`${name}.bin`)));
    const it = new IntTransformer(quantizeInt8(w));
    const g = golden(name), V = w.config.vocabSize;
    let agree = 0, kl = 0;
    for (let pos = 0; pos < 32; pos++) {
      const ref = g.logits.subarray(pos * V, (pos + 1) * V);
      const l = it.forward(g.tokens[pos], pos);
      const lf = Float64Array.from(l, (v) => v / 65536);
      if (argmax(ref) === argmaxInt(l, V)) agree++;
      kl += klFromLogProbs(logSoftmax(ref), logSoftmax(lf));
    }
    assert.ok(agree >= 31, `top-1 agreement ${agree}/32`);
    assert.ok(kl / 32 < 0.005, `mean KL ${kl / 32}`);
  });

  test(`${name}: deterministic to the byte (two quantizations, two runs)`, () => {
    if (!haveModels) return;
    const w = loadWeights(openModel(model(`${name}.bin`)));
    const g = golden(name);
    const run = () => {
      const it = new IntTransformer(quantizeInt8(w));
      return g.tokens.slice(0, 8).map((t, pos) => { const l = it.forward(t, pos); return fnv1a64(new Uint8Array(l.buffer, l.byteOffset, l.byteLength)); });
    };
    const a = run(), b = run();
    assert.equal(a, b);
    assert.is(new Set(a).size, a.length, 'every position hashes differently');
  });
}

test('stories260K: greedy generation from BOS reproduces the golden tokens; sampling is seeded', () => {
  if (!haveModels) return;
  const w = loadWeights(openModel(model('stories260K.bin')));
  const it = new IntTransformer(quantizeInt8(w));
  const g = golden('stories260K');
  let tok = 1, same = 0;
  for (let pos = 0; pos < 32; pos++) { tok = it.argmax(it.forward(tok, pos)); if (tok === g.tokens[pos + 1]) same++; else break; }
  assert.ok(same >= 24, `greedy run follows the golden tokens for ${same} steps`);
  const gen = (seed: number) => {
    const rng = new Xorshift64Star(seed, 0);
    let t = 1;
    return Array.from({ length: 20 }, (_, pos) => (t = it.sample(it.forward(t, pos), 58982 /* 0.9 */, 58982, rng)));
  };
  assert.equal(gen(42), gen(42));
});

// Synthetic weights are far more sensitive to rounding than trained ones (same formats:
// synthetic stories260K has KL ~0.08 where the real one has 5.7e-4; at some positions of
// the synthetic 15M model, int8 rounding of the one input embedding row alone drops the
// logit correlation with float to 0.78). So accuracy is measured on the real checkpoints,
// and here the integer engine is compared with the float simulation of the same formats
// (compiler/eval/ablate.ts, all rounding steps on), which it must track closely.
function correlation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0, mb = 0;
  for (let i = 0; i < n; i++) { ma += a[i]; mb += b[i]; }
  ma /= n; mb /= n;
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < n; i++) { sab += (a[i] - ma) * (b[i] - mb); saa += (a[i] - ma) ** 2; sbb += (b[i] - mb) ** 2; }
  return sab / Math.sqrt(saa * sbb);
}

test('stories15M shape (synthetic weights): 64 positions at usable speed, tracking the simulated format', () => {
  const w = synthWeights(SHAPES.stories15M, 1);
  const it = new IntTransformer(quantizeInt8(w));
  const sim = new AblationTransformer(w, { sites: new Set(SITES) });
  const ft = new FloatTransformer(w);
  let ms = 0;
  for (let pos = 0; pos < 64; pos++) {
    const tok = 1 + ((pos * 7919) % 31999);
    const t0 = Date.now();
    const l = it.forward(tok, pos);
    ms += Date.now() - t0;
    if (pos < 8) { // the float passes are the slow part
      const li = Float64Array.from(l, (v) => v / 65536);
      const r = correlation(li, sim.forward(tok, pos));
      assert.ok(r > 0.99, `position ${pos}: correlation with the simulated format ${r}`);
      if (pos === 0) assert.ok(correlation(li, ft.forward(tok, pos)) > 0.99, 'position 0 vs float');
    }
  }
  assert.ok(ms < 20000, `64 positions took ${ms} ms`);
});

test.run();
