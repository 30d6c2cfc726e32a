// Float reference speed: greedy decoding from BOS, tokens per second, on the real
// stories260K checkpoint and on the stories15M shape (synthetic weights: the real 15M
// checkpoint is not in ../shared/models). Both accumulation modes, the float64 one
// relative to the exact float32 one.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { BenchCase, BenchSection } from './harness.ts';
import type { FloatWeights } from '../compiler/import/graph.ts';
import { openModel } from '../compiler/import/open-model.ts';
import { loadWeights } from '../compiler/import/graph.ts';
import { greedyFloat } from './decode.ts';
import { SHAPES, synthWeights } from '../compiler/synth/synth.ts';

const MODELS = process.env.EDGEQ_MODELS ?? resolve(import.meta.dirname, '../../shared/models');
const SYNTH_SEED = 1;

function pair(model: string, w: FloatWeights, tokens: number, runs: number): BenchCase[] {
  return [
    { name: `${model} float32`, unit: 'tok/s', runs, run: () => greedyFloat(w, tokens, {}) },
    {
      name: `${model} float64-acc`, unit: 'tok/s', runs, run: () => greedyFloat(w, tokens, { accumulate: 'float64' }),
      baseline: `float-reference/${model} float32`,
    },
  ];
}

const section: BenchSection = {
  id: 'float-reference',
  title: 'float reference (TypeScript, llama2.c forward pass)',
  cases() {
    const cases: BenchCase[] = [];
    const real = resolve(MODELS, 'stories260K.bin');
    if (existsSync(real)) cases.push(...pair('stories260K', loadWeights(openModel(real)), 128, 5));
    else console.log(`(skipping stories260K: ${real} not found; set EDGEQ_MODELS)`);
    cases.push(...pair('stories15M-synth', synthWeights({ ...SHAPES.stories15M }, SYNTH_SEED), 16, 3));
    return cases;
  },
};
export default section;
