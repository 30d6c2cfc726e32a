// Parameter counts of a llama2.c-style model, per tensor kind, per block and in total.
// Shared by `edgeq inspect` and anything that budgets memory (plans, target checks).
import type { ModelConfig } from './graph.ts';
import { kvDim } from './graph.ts';

export interface ParamRow {
  /** Tensor kind: canonical name without the `blocks.{l}.` prefix. */
  name: string;
  shape: number[];
  /** Parameters of one instance (one layer for block tensors). */
  params: number;
  /** How many instances: n_layers for block tensors, 1 otherwise, 0 for a shared wcls. */
  count: number;
  perBlock: boolean;
}

const prod = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** One row per tensor kind, in canonical order (graph.ts). */
export function paramRows(c: ModelConfig): ParamRow[] {
  const kd = kvDim(c);
  const row = (name: string, shape: number[], count: number, perBlock: boolean): ParamRow =>
    ({ name, shape, params: prod(shape), count, perBlock });
  const L = c.nLayers;
  return [
    row('tok_embeddings', [c.vocabSize, c.dim], 1, false),
    row('rms_att', [c.dim], L, true),
    row('wq', [c.dim, c.dim], L, true),
    row('wk', [kd, c.dim], L, true),
    row('wv', [kd, c.dim], L, true),
    row('wo', [c.dim, c.dim], L, true),
    row('rms_ffn', [c.dim], L, true),
    row('w1', [c.hiddenDim, c.dim], L, true),
    row('w2', [c.dim, c.hiddenDim], L, true),
    row('w3', [c.hiddenDim, c.dim], L, true),
    row('rms_final', [c.dim], 1, false),
    row('wcls', [c.vocabSize, c.dim], c.sharedClassifier ? 0 : 1, false),
  ];
}

/** Parameters of one transformer block. */
export const blockParams = (c: ModelConfig): number =>
  paramRows(c).filter((r) => r.perBlock).reduce((s, r) => s + r.params, 0);

/** Distinct stored parameters (a shared classifier counts once). */
export const totalParams = (c: ModelConfig): number =>
  paramRows(c).reduce((s, r) => s + r.params * r.count, 0);
