// Every baked table and model constant of the integer model, each computed in float64
// from the formula docs/integer-spec.md §4 states and rounded half away from zero.
// test/int-tables.test.ts recomputes them from the spec's formulas independently.
import {
  EXP2_TABLE_SIZE, ROPE_FRAC, SILU_STEP_SHIFT, SILU_TABLE_SIZE, SILU_X_MAX_Q16,
} from '../../runtime/kernels/reference/constants.ts';
import { ceilLog2, roundHalfAway, toScale, type Scale } from './fixed-point.ts';
import { ropeFrequencies, type ModelSpec } from '../import/model-spec.ts';

/**
 * RoPE: cos/sin[p, i] = round(2^14 * cos/sin(p * freq[i])), shape [seqLen, headSize/2],
 * freq[i] = θ^(-2i/headSize) / factor[i] (model-spec.ts; llama2.c: θ = 10000, no factors).
 */
export function ropeTables(seqLen: number, headSize: number, spec?: Pick<ModelSpec, 'ropeTheta' | 'ropeFreqFactors'>): { cos: Int16Array; sin: Int16Array } {
  const half = headSize / 2, freqs = ropeFrequencies(headSize, spec);
  const cos = new Int16Array(seqLen * half), sin = new Int16Array(seqLen * half);
  for (let i = 0; i < half; i++) {
    const freq = freqs[i];
    for (let p = 0; p < seqLen; p++) {
      const a = p * freq;
      cos[p * half + i] = roundHalfAway(Math.cos(a) * 2 ** ROPE_FRAC);
      sin[p * half + i] = roundHalfAway(Math.sin(a) * 2 ** ROPE_FRAC);
    }
  }
  return { cos, sin };
}

/** exp2[j] = round(2^14 * 2^(-j / 1024)), j = 0..1023 (so exp2[0] = 16384). */
export function exp2Table(): Int16Array {
  const t = new Int16Array(EXP2_TABLE_SIZE);
  for (let j = 0; j < EXP2_TABLE_SIZE; j++) t[j] = roundHalfAway(2 ** 14 * 2 ** (-j / EXP2_TABLE_SIZE));
  return t;
}

/** silu[j] = round(2^16 * silu(-16 + j/64)), silu(x) = x / (1 + e^-x), j = 0..2048. */
export function siluTable(): Int32Array {
  const t = new Int32Array(SILU_TABLE_SIZE);
  const step = 2 ** SILU_STEP_SHIFT / 2 ** 16, x0 = -SILU_X_MAX_Q16 / 2 ** 16;
  for (let j = 0; j < SILU_TABLE_SIZE; j++) {
    const x = x0 + j * step;
    t[j] = roundHalfAway(2 ** 16 * (x / (1 + Math.exp(-x))));
  }
  return t;
}

export interface ModelConstants {
  rmsEpsQ32: number;
  rmsSqShift: number;
  rmsDimScale: Scale;
  attScale: Scale;
}

/** RMSNorm and attention constants for a model shape (eps: the spec's ε; llama2.c's 1e-5). */
export function modelConstants(dim: number, headSize: number, eps = 1e-5): ModelConstants {
  const sh = ceilLog2(dim);
  return {
    rmsEpsQ32: roundHalfAway(eps * 2 ** 32),
    rmsSqShift: sh,
    rmsDimScale: toScale(Math.sqrt(dim / 2 ** sh)),
    attScale: toScale(Math.LOG2E / Math.sqrt(headSize)),
  };
}
