// llama2.c's sampler and generate loop, reproduced exactly: the expected numbers and texts
// were recorded from run.c (karpathy/llama2.c master's C functions, gcc 12, glibc 2.36).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openModel } from '../compiler/import/open-model.ts';
import { loadWeights } from '../compiler/import/graph.ts';
import { Tokenizer } from '../compiler/import/tokenizer.ts';
import { FloatTransformer } from '../compiler/reference/float/forward.ts';
import { Rng, Sampler, sampleArgmax, sampleMult, sampleTopp } from '../compiler/reference/float/sampler.ts';
import { clampSteps, generate } from '../compiler/generate.ts';
import { model } from './helpers/models.ts';

test('xorshift random_u32 / random_f32 match run.c', () => {
  const r = new Rng(42);
  assert.equal([r.u32(), r.u32(), r.u32()], [1456360119, 3359763283, 3393612768]);
  assert.is(Math.fround(r.f32()), Math.fround(0.944042623));
  assert.is(new Rng(18446744073709551615n).u32(), 4180462053);
  assert.throws(() => new Rng(0), /seed/);
});

test('argmax takes the first maximum', () => {
  assert.is(sampleArgmax([0.1, 0.5, 0.5, 0.2]), 1);
  assert.is(sampleArgmax([3]), 0);
});

test('sample_mult walks the cdf; rounding shortfall falls to the last token', () => {
  const p = [0.25, 0.5, 0.25];
  assert.is(sampleMult(p, 0), 0);
  assert.is(sampleMult(p, 0.2499), 0);
  assert.is(sampleMult(p, 0.25), 1);
  assert.is(sampleMult(p, 0.9), 2);
  assert.is(sampleMult([0.1, 0.1], 0.5), 1);
});

test('sample_topp keeps the smallest head of the sorted distribution exceeding p', () => {
  const p = Float32Array.of(0.1, 0.4, 0.05, 0.3, 0.15);
  // sorted: 1 (.4), 3 (.3), 4 (.15), 0 (.1), 2 (.05); p = 0.6 -> nucleus {1, 3} (sum .7)
  assert.is(sampleTopp(p, 0.6, 0), 1);
  assert.is(sampleTopp(p, 0.6, 0.56), 1); // r = 0.56 * 0.7 = 0.392 < 0.4
  assert.is(sampleTopp(p, 0.6, 0.58), 3);
  assert.is(sampleTopp(p, 0.6, 0.9999), 3);
  // Equal probabilities keep increasing token order (glibc's qsort is a stable merge sort).
  assert.is(sampleTopp(Float32Array.of(0.25, 0.25, 0.25, 0.25), 0.5, 0), 0);
  assert.is(sampleTopp(Float32Array.of(0.25, 0.25, 0.25, 0.25), 0.5, 0.99), 2);
});

test('the sampler leaves the logits alone and temperature 0 is argmax', () => {
  const logits = Float32Array.of(1, 3, 2);
  const s = new Sampler({ temperature: 1, topp: 0.9, seed: 5 });
  s.sample(logits);
  assert.equal([...logits], [1, 3, 2]);
  assert.is(new Sampler({ temperature: 0, topp: 0.9 }).sample(logits), 1);
});

const tok512 = Tokenizer.load(model('tok512.bin'));
const w260 = loadWeights(openModel(model('stories260K.bin')));
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const run = (temperature: number, topp: number, seed: number, steps: number, prompt = '') =>
  generate(new FloatTransformer(w260), tok512, new Sampler({ temperature, topp, seed }), { prompt, steps });

test('seeded generation prints what llama2.c prints (top-p and plain sampling)', () => {
  assert.is(text(run(1.0, 0.9, 42, 100).text),
    'Once upon a time, there was a little girl named Lily. She loved to play outside in the sun. One day, her mom asked her ' +
    'to teach him a nice way to play in the sun. Lily was so excited to go outside and jump in the sky. \nAs she walked, she saw a t');
  assert.is(text(run(0.8, 0, 7, 100, 'Lily').text),
    'Lily liOut there was a little boy named Timmy. Timmy wanted to play with his toys. He asked his mom to find it, but But ' +
    'she didn\'t want to draw. \nHis mom said, "Yes, that\'s okay, Tommy. We are very nice." Timmy thought about where he p');
});

test('same seed, same text; another seed, other text', () => {
  const a = run(1.0, 0.9, 1234, 60), b = run(1.0, 0.9, 1234, 60), c = run(1.0, 0.9, 4321, 60);
  assert.equal(a.tokens, b.tokens);
  assert.not.equal(a.tokens, c.tokens);
});

test('generate: prompt tokens are forced, positions counted, steps clamped like llama2.c', () => {
  const r = run(0, 0.9, 42, 10, 'Once upon a time');
  assert.equal(r.tokens.slice(0, 5), [1, 403, 407, 261, 378]);
  assert.is(r.positions, 10);
  assert.is(r.tokens.length, 11);
  assert.is(clampSteps(0, 512), 512);
  assert.is(clampSteps(1000, 512), 512);
  assert.is(clampSteps(7, 512), 7);
});

test.run();
