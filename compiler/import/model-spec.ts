// What a reader learns about a model beyond the tensor shapes (graph.ts's ModelConfig):
// the RoPE and RMSNorm constants, the RoPE pair layout its q/k rows are in, and which
// optional parts (frequency factors, biases) it has. One record for every source format.
//
// Every forward (float reference, integer tables, ablation, LoRA) takes θ, ε and the
// frequency factors from the spec; what they do not compute yet (another pair layout,
// partial rotary dims, biases) is named by `unsupportedSpec`, so a model with such a
// variant is refused at the door instead of compiled into one that computes something else.
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
  const hs = c.dim / c.nHeads;
  if (!(s.ropeTheta > 1) || !Number.isFinite(s.ropeTheta)) return { field: 'ropeTheta', value: String(s.ropeTheta), supported: 'a finite base > 1' };
  // ε * 2^32 rounds to the integer rmsnorm's rmsEpsQ32 (docs/integer-spec.md); 0 < ε < 1e-3 keeps it in range.
  if (!(s.normEps > 0 && s.normEps < 1e-3)) return { field: 'normEps', value: String(s.normEps), supported: '0 < ε < 1e-3' };
  if (s.ropeLayout !== 'interleaved') return { field: 'ropeLayout', value: s.ropeLayout, supported: 'interleaved' };
  if (s.ropeDims !== hs) return { field: 'ropeDims', value: String(s.ropeDims), supported: `the head size ${hs}` };
  const ff = s.ropeFreqFactors;
  if (ff && ff.length !== hs / 2) return { field: 'ropeFreqFactors', value: `${ff.length} factors`, supported: `head size / 2 = ${hs / 2}` };
  if (ff && !ff.every((x) => x > 0 && Number.isFinite(x))) return { field: 'ropeFreqFactors', value: `[${Array.from(ff).join(', ')}]`, supported: 'finite factors > 0' };
  if (s.biases.length > 0) return { field: 'biases', value: s.biases.join(', '), supported: 'none' };
  return null;
}

/**
 * RoPE angle per position of pair i (0 <= i < headSize/2), in float64:
 * θ^(-2i/headSize) / factor[i]. The integer tables and the float64 host passes use it;
 * the float32 reference (forward.ts) rounds each step like run.c instead.
 */
export function ropeFrequencies(headSize: number, spec?: Pick<ModelSpec, 'ropeTheta' | 'ropeFreqFactors'>): Float64Array {
  const theta = spec?.ropeTheta ?? 10000, ff = spec?.ropeFreqFactors;
  const out = new Float64Array(headSize / 2);
  for (let i = 0; i < out.length; i++) out[i] = 1 / Math.pow(theta, (2 * i) / headSize) / (ff ? ff[i] : 1);
  return out;
}

/**
 * Llama-3's frequency divisors (rope_scaling type llama3; llama.cpp writes the same numbers
 * as the rope_freqs tensor): 1 above the high-frequency wavelength, `factor` below the
 * low-frequency one, a smooth blend between.
 */
export function llama3FreqFactors(
  theta: number, headSize: number,
  p: { factor: number; lowFreqFactor: number; highFreqFactor: number; originalContext: number },
): Float32Array {
  const out = new Float32Array(headSize / 2);
  for (let i = 0; i < out.length; i++) {
    const wavelen = (2 * Math.PI) * Math.pow(theta, (2 * i) / headSize);
    if (wavelen < p.originalContext / p.highFreqFactor) out[i] = 1;
    else if (wavelen > p.originalContext / p.lowFreqFactor) out[i] = p.factor;
    else {
      const smooth = (p.originalContext / wavelen - p.lowFreqFactor) / (p.highFreqFactor - p.lowFreqFactor);
      out[i] = 1 / ((1 - smooth) / p.factor + smooth);
    }
  }
  return out;
}

/** Linear RoPE scaling by `factor` (positions divided by it) as frequency divisors. */
export const linearFreqFactors = (headSize: number, factor: number): Float32Array => new Float32Array(headSize / 2).fill(factor);
