// Model shapes edgeq knows by name: the llama2.c "tinyllamas" family and BabyLlama.
// Used by `edgeq synth --shape`, benchmarks and tests; the first two also exist as real
// trained checkpoints in ../shared/models (see PROVENANCE.md), the larger three only as
// synthetic ones. All of them share the classifier with the token embedding, as the
// originals do.
import type { ModelConfig } from '../import/graph.ts';

const shape = (dim: number, hiddenDim: number, nLayers: number, nHeads: number, nKvHeads: number,
  vocabSize: number, seqLen: number): ModelConfig =>
  ({ dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, seqLen, sharedClassifier: true });

export const SHAPES = {
  //                          dim  hidden  L  heads kv  vocab  seq
  stories260K:   shape(  64,  172,  5,  8, 4,   512,  512),
  babyllama936K: shape( 128,  352,  5,  8, 4,   105,  256),
  stories15M:    shape( 288,  768,  6,  6, 6, 32000,  256),
  stories42M:    shape( 512, 1376,  8,  8, 8, 32000, 1024),
  stories110M:   shape( 768, 2048, 12, 12, 12, 32000, 1024),
  // Shapes of real Hugging Face models (HF config.json), for size and speed tests; synthetic
  // weights, and llama2.c's RoPE θ and ε (the real ones use other θ, which edgeq also reads).
  'smollm2-135M':  shape( 576, 1536, 30,  9, 3, 49152, 2048),
  'tinyllama-1.1B': { ...shape(2048, 5632, 22, 32, 4, 32000, 2048), sharedClassifier: false },
} as const satisfies Record<string, ModelConfig>;

export type ShapeName = keyof typeof SHAPES;
export const SHAPE_NAMES = Object.keys(SHAPES) as ShapeName[];

/** A fresh copy of the named shape, or undefined for an unknown name. */
export function shapeByName(name: string): ModelConfig | undefined {
  return Object.hasOwn(SHAPES, name) ? { ...SHAPES[name as ShapeName] } : undefined;
}
