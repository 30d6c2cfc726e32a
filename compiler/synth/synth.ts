// Writing synthetic checkpoints: a named or explicit shape, a seed, a format. The same
// arguments give the same bytes on every machine (see prng.ts).
import type { ModelConfig } from '../import/graph.ts';
import type { Llama2cFormat } from '../import/llama2c-format.ts';
import { writeLlama2c } from '../import/llama2c-write.ts';
import { synthSource } from './weights.ts';

export { SHAPES, SHAPE_NAMES, shapeByName, type ShapeName } from './shapes.ts';
export { synthTensor, synthTensorChunks, synthWeights, synthSource, outlierChannels } from './weights.ts';

export interface SynthOptions {
  format?: Llama2cFormat; // default 'v0', the format llama2.c's own run.c reads
  onProgress?: (written: number, total: number) => void;
}

/** Streams a synthetic checkpoint of `config` to `path` (atomically); returns its size in bytes. */
export function writeSynth(path: string, config: ModelConfig, seed: number, opts: SynthOptions = {}): number {
  return writeLlama2c(path, config, synthSource(config, seed), { format: opts.format ?? 'v0', onProgress: opts.onProgress });
}
