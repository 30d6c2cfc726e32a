// What a reader learns about a model beyond the tensor shapes (graph.ts's ModelConfig):
// the RoPE and RMSNorm constants, the RoPE pair layout its q/k rows are in, and which
// optional parts (frequency factors, biases) it has. One record for every source format.
//
// Today's artifacts and float/integer forwards implement one variant: llama2.c's
// (θ = 10000, ε = 1e-5, rotation of adjacent pairs over the whole head, no biases, no
// frequency factors). `unsupportedSpec` names the first field a model differs in, so a
// GGUF or HF model with another variant is refused at the door instead of compiled into
// a model that silently computes something else.
/** The part of graph.ts's ModelConfig a spec depends on (structural: graph.ts imports this file). */
interface HeadShape { dim: number; nHeads: number }

export type RopeLayout =
  /** Rotates (x[2i], x[2i+1]) — llama2.c, Meta's checkpoints, llama.cpp's llama GGUFs. */
  | 'interleaved'
  /** Rotates (x[i], x[i + head/2]) — HF transformers' rotate_half; readers undo it. */
  | 'half';

export interface ModelSpec {
  /** Architecture as the source names it (llama2.c files: 'llama'). */
  architecture: string;
  ropeTheta: number;
  /** RMSNorm ε as stored (GGUF and HF store float32 or a decimal; compare as float32). */
  normEps: number;
  /** The layout the reader hands on (always 'interleaved': readers convert). */
  ropeLayout: RopeLayout;
  /** Dimensions of each head that RoPE rotates (the whole head for the llama family). */
  ropeDims: number;
  /** Llama-3.1-style per-frequency divisors (GGUF rope_freqs / HF rope_scaling llama3), if any. */
  ropeFreqFactors?: Float32Array;
  /** Which linear layers carry a bias (Qwen2: q, k, v). None today. */
  biases: string[];
}

/** llama2.c's constants (run.c): the spec every llama2.c checkpoint has. */
export function llama2cSpec(c: HeadShape): ModelSpec {
  return { architecture: 'llama', ropeTheta: 10000, normEps: 1e-5, ropeLayout: 'interleaved', ropeDims: c.dim / c.nHeads, biases: [] };
}

export interface SpecProblem { field: keyof ModelSpec; value: string; supported: string }

/** The first way `s` differs from what edgeq's forwards compute, or null. */
export function unsupportedSpec(c: HeadShape, s: ModelSpec): SpecProblem | null {
  const base = llama2cSpec(c);
  if (s.ropeTheta !== base.ropeTheta) return { field: 'ropeTheta', value: String(s.ropeTheta), supported: '10000' };
  if (Math.fround(s.normEps) !== Math.fround(base.normEps)) return { field: 'normEps', value: String(s.normEps), supported: '1e-5' };
  if (s.ropeLayout !== 'interleaved') return { field: 'ropeLayout', value: s.ropeLayout, supported: 'interleaved' };
  if (s.ropeDims !== base.ropeDims) return { field: 'ropeDims', value: String(s.ropeDims), supported: `the head size ${base.ropeDims}` };
  if (s.ropeFreqFactors) return { field: 'ropeFreqFactors', value: `${s.ropeFreqFactors.length} factors`, supported: 'none (plain RoPE)' };
  if (s.biases.length > 0) return { field: 'biases', value: s.biases.join(', '), supported: 'none' };
  return null;
}
