// What the float models' pin tests share (float-model-pins.test.ts, ablate-pins.test.ts):
// the models they run, a fixed token stream and sha256 of typed arrays.
import { createHash } from 'node:crypto';
import { openModel } from '../../compiler/import/open-model.ts';
import { loadWeights, type FloatWeights } from '../../compiler/import/graph.ts';
import { llama2cSpec } from '../../compiler/import/model-spec.ts';
import { model } from './models.ts';

const load = (m: string) => loadWeights(openModel(model(`${m}.bin`)));
/** A fixed token stream that visits the whole vocabulary (no tokenizer involved). */
export const tokenAt = (p: number, vocab: number): number => (1 + 37 * p) % vocab;
/** An incremental sha256 of the bytes of typed arrays. */
export const hasher = () => {
  const h = createHash('sha256');
  return { add: (c: ArrayBufferView) => h.update(new Uint8Array(c.buffer, c.byteOffset, c.byteLength)), hex: () => h.digest('hex') };
};
/** sha256 (hex) of the bytes of `chunks`, in order. */
export const sha = (chunks: ArrayBufferView[]): string => {
  const h = hasher();
  for (const c of chunks) h.add(c);
  return h.hex();
};
/** stories260K with a non-llama2.c spec: θ, ε and llama3-style frequency factors. */
function withSpec(w: FloatWeights): FloatWeights {
  const hs = w.config.dim / w.config.nHeads;
  const ropeFreqFactors = Float32Array.from({ length: hs / 2 }, (_, i) => 1 + 2.5 * i);
  return { ...w, spec: { ...llama2cSpec(w.config), ropeTheta: 500000, normEps: Math.fround(1e-6), ropeFreqFactors } };
}
/** The pinned models: both real checkpoints, and stories260K with a non-default spec. */
export const PIN_MODELS: Array<[string, () => FloatWeights]> = [
  ['stories260K', () => load('stories260K')], ['babyllama936K', () => load('babyllama936K')],
  ['stories260K+spec', () => withSpec(load('stories260K'))],
];
