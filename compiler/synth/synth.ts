// Writing synthetic checkpoints: a named or explicit shape, a seed, a format. The same
// arguments give the same bytes on every machine (see prng.ts).
import type { ModelConfig } from '../import/graph.ts';
import type { Llama2cFormat } from '../import/llama2c-format.ts';
import { writeLlama2c } from '../import/llama2c-write.ts';
import { blockTensor, type Graph, type TensorRef } from '../import/graph.ts';
import { writeGraphGguf } from '../import/gguf/gguf-write.ts';
import { writeGraphHf } from '../import/hf/hf-write.ts';
import { synthSource, synthTensor } from './weights.ts';

export { SHAPES, SHAPE_NAMES, shapeByName, type ShapeName } from './shapes.ts';
export { synthTensor, synthTensorChunks, synthWeights, synthSource, outlierChannels } from './weights.ts';

/** Output formats of `edgeq synth`: llama2.c, GGUF (matrix type) or an HF directory (dtype). */
export const SYNTH_FORMATS = ['v0', 'v1', 'gguf-f32', 'gguf-f16', 'gguf-q8_0', 'hf-f32', 'hf-bf16'] as const;
export type SynthFormat = (typeof SYNTH_FORMATS)[number];

export interface SynthOptions {
  format?: SynthFormat; // default 'v0', the format llama2.c's own run.c reads
  onProgress?: (written: number, total: number) => void;
}

/** Streams a synthetic checkpoint of `config` to `path` (atomically); returns its size in bytes. */
export function writeSynth(path: string, config: ModelConfig, seed: number, opts: SynthOptions = {}): number {
  const format = opts.format ?? 'v0';
  if (format === 'v0' || format === 'v1') {
    return writeLlama2c(path, config, synthSource(config, seed), { format: format as Llama2cFormat, onProgress: opts.onProgress });
  }
  const g = synthGraph(config, seed);
  if (format.startsWith('gguf-')) return writeGraphGguf(path, g, ({ 'gguf-f32': 'F32', 'gguf-f16': 'F16', 'gguf-q8_0': 'Q8_0' } as const)[format as 'gguf-f32']);
  return writeGraphHf(path, g, format === 'hf-f32' ? 'F32' : 'BF16');
}

/** The synthetic model as a Graph whose tensors are generated when read (same values as the llama2.c writer's). */
export function synthGraph(config: ModelConfig, seed: number): Graph {
  const tensors = new Map<string, TensorRef>();
  const add = (name: string, shape: number[]) => tensors.set(name, { name, shape, byteOffset: 0, read: () => synthTensor(config, seed, name) });
  const kv = (config.dim * config.nKvHeads) / config.nHeads;
  add('tok_embeddings', [config.vocabSize, config.dim]);
  for (let l = 0; l < config.nLayers; l++) {
    const shapes: Record<string, number[]> = {
      rms_att: [config.dim], wq: [config.dim, config.dim], wk: [kv, config.dim], wv: [kv, config.dim], wo: [config.dim, config.dim],
      rms_ffn: [config.dim], w1: [config.hiddenDim, config.dim], w2: [config.dim, config.hiddenDim], w3: [config.hiddenDim, config.dim],
    };
    for (const [n, s] of Object.entries(shapes)) add(blockTensor(l, n), s);
  }
  add('rms_final', [config.dim]);
  if (config.sharedClassifier) tensors.set('wcls', { ...tensors.get('tok_embeddings')!, name: 'wcls' });
  else add('wcls', [config.vocabSize, config.dim]);
  return { config, source: { path: '(synthetic)', format: 'llama2c-v0', bytes: 0 }, tensors };
}
