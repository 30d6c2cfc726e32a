// `edgeq synth` shapes of real models (issue 14 item 5) and its GGUF / HF formats: the
// same seed gives the same weights in every format (F32), read back through openModel.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SHAPES, writeSynth } from '../compiler/synth/synth.ts';
import { openModel } from '../compiler/import/open-model.ts';
import { totalParams } from '../compiler/import/params.ts';

const dir = mkdtempSync(join(tmpdir(), 'edgeq-synth-fmt-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('shapes of SmolLM2-135M and TinyLlama-1.1B as their HF config.json give them', () => {
  // SmolLM2-135M: hidden 576, 30 layers, 9/3 heads, intermediate 1536, vocab 49152, tied.
  assert.equal(SHAPES['smollm2-135M'], { dim: 576, hiddenDim: 1536, nLayers: 30, nHeads: 9, nKvHeads: 3, vocabSize: 49152, seqLen: 2048, sharedClassifier: true });
  // TinyLlama-1.1B: 2048, 22 layers, 32/4 heads, 5632, 32000, untied.
  assert.equal(SHAPES['tinyllama-1.1B'], { dim: 2048, hiddenDim: 5632, nLayers: 22, nHeads: 32, nKvHeads: 4, vocabSize: 32000, seqLen: 2048, sharedClassifier: false });
  assert.ok(Math.abs(totalParams(SHAPES['smollm2-135M']) - 134.5e6) < 1e6, String(totalParams(SHAPES['smollm2-135M'])));
  assert.ok(Math.abs(totalParams(SHAPES['tinyllama-1.1B']) - 1.1e9) < 0.01e9, String(totalParams(SHAPES['tinyllama-1.1B'])));
});

test('stories260K synthesized as v0, gguf-f32 and hf-f32 hold the same weights', () => {
  const c = { ...SHAPES.stories260K, sharedClassifier: false };
  const paths = { v0: join(dir, 's.bin'), 'gguf-f32': join(dir, 's.gguf'), 'hf-f32': join(dir, 's-hf') } as const;
  for (const [format, p] of Object.entries(paths)) writeSynth(p, c, 3, { format: format as keyof typeof paths });
  const ref = openModel(paths.v0);
  for (const p of [paths['gguf-f32'], paths['hf-f32']]) {
    const g = openModel(p);
    assert.equal(g.config, ref.config);
    for (const [name, t] of ref.tensors) assert.equal([...g.tensors.get(name)!.read()], [...t.read()], `${p} ${name}`);
  }
});

test.run();
