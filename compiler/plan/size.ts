// Exact size of the model.edgeq that `edgeq compile` writes for a plan, without quantizing.
//
// The artifact's byte length depends only on its structure — which tensors (names, dtypes,
// shapes, which quant fields), the program, the plan and metadata strings, the tokenizer and
// the number of conformance positions — never on the weight values: every vector's length
// is fixed by the shapes, and FlatBuffers scalars are either always written or elided by
// structure (a group size of 0, a missing scales tensor), not by value. So we build a
// *skeleton* QuantModel — the tensor list quantizeInt8 produces for the plan (same order,
// names, dtypes, shapes, params, formats and rule strings), with zero-filled data — lower
// it and serialize it with the real writer, and take the length. test/plan-size.test.ts
// checks that the skeleton's tensor list and byte length equal a real quantization's.
//
// What the skeleton cannot know: a low-bit matrix whose weights are so large that the
// quantizer falls back to int8 (a row scale exponent < LOWBIT_MIN_ROW_E; none of the real
// or synthetic models here). That makes the real artifact larger, and `edgeq compile`
// then refuses a plan whose recorded budget the bundle exceeds (compiler/plan/budget.ts).
import type { ModelConfig } from '../import/graph.ts';
import { headSize as headSizeOf, kvDim as kvDimOf } from '../import/graph.ts';
import type { TextTokenizer as Tokenizer } from '../import/tokenizers/text-tokenizer.ts';
import { FORMAT_VERSION, zeroData, type MatrixFormat, type QDType, type QTensor, type QuantModel } from '../quantize/quant-model.ts';
import { exp2Table, modelConstants, ropeTables, siluTable } from '../quantize/tables.ts';
import { formatNamed, type WeightFormat } from '../quantize/formats/registry.ts';
import { storedRule } from '../quantize/formats/format.ts';
import { EXP2_TABLE_SIZE, LOGIT_FRAC, SILU_TABLE_SIZE } from '../../runtime/kernels/reference/constants.ts';
import { lowerInt8 } from '../lower/program.ts';
import { contentsFromQuant } from '../emit/from-quant.ts';
import { writeArtifact } from '../emit/artifact.ts';
import { BLOCK_MATRICES, checkPlanForModel, planMethod, requested, requestedClassifier, resolveMatrix, resolveStored, type BlockMatrix, type MatrixChoice, type PlanSpec } from './plan.ts';

/**
 * The QuantModel quantizeInt8 would produce for `plan`, with zero data (structure only).
 * Mirrors compiler/quantize/int8.ts: tensor order, fallbacks (resolveMatrix, the §5.4 input
 * size limit), rule texts and planMethod.
 */
export function skeletonModel(c: ModelConfig, plan: PlanSpec, gptq = false): QuantModel {
  checkPlanForModel(plan, c.nLayers);
  const hs = headSizeOf(c), kd = kvDimOf(c);
  const tensors: QTensor[] = [];
  const formats: Record<string, MatrixFormat> = {};
  const add = (name: string, dtype: QDType, shape: number[], params: Record<string, number> = {}) =>
    tensors.push({ name, dtype, shape, params, data: zeroData(dtype, shape, params.groupSize ?? 0) });
  /** A matrix's tensors as its format stores them (compiler/quantize/formats/). */
  const stored = (name: string, format: WeightFormat, rows: number, cols: number, groupSize: number) => {
    for (const t of formatNamed(format)!.tensors(rows, cols, groupSize)) add(name + t.suffix, t.dtype as QDType, t.shape, t.params);
  };
  const int8 = (name: string, rows: number, cols: number) => stored(name, 'int8', rows, cols, 0);
  const matrix = (name: string, want: MatrixChoice, rows: number, cols: number) => {
    const r = resolveStored(want, cols);
    if (r.format === 'int8') { formats[name] = { ...r, rule: r.rule + (gptq ? ', GPTQ' : '') }; return int8(name, rows, cols); }
    formats[name] = { bits: r.bits, groupSize: r.groupSize, format: r.format, rule: storedRule(r.rule, formatNamed(r.format)!, gptq) };
    stored(name, r.format, rows, cols, r.groupSize);
  };
  const shapes: Record<BlockMatrix, [number, number]> = {
    wq: [c.dim, c.dim], wk: [kd, c.dim], wv: [kd, c.dim], wo: [c.dim, c.dim], w1: [c.hiddenDim, c.dim], w2: [c.dim, c.hiddenDim], w3: [c.hiddenDim, c.dim],
  };
  // As quantizeInt8: a low-bit classifier is split off the embedding as wcls.
  const cls = requestedClassifier(plan);
  const shared = c.sharedClassifier && resolveMatrix(cls, c.dim).format === 'int8';
  int8('tok_embeddings', c.vocabSize, c.dim);
  for (let l = 0; l < c.nLayers; l++) {
    for (const m of BLOCK_MATRICES) {
      if (m === 'wq') add(`blocks.${l}.rms_att`, 'int16', [c.dim], { frac: 0 });
      if (m === 'w1') add(`blocks.${l}.rms_ffn`, 'int16', [c.dim], { frac: 0 });
      matrix(`blocks.${l}.${m}`, requested(plan, l, m), ...shapes[m]);
    }
  }
  add('rms_final', 'int16', [c.dim], { frac: 0 });
  if (!shared) {
    if (cls.bits === 8) int8('wcls', c.vocabSize, c.dim);
    else matrix('wcls', cls, c.vocabSize, c.dim);
  }
  const rope = ropeTables(c.seqLen, hs);
  tensors.push({ name: 'rope.cos', dtype: 'int16', shape: [c.seqLen, hs / 2], params: {}, data: rope.cos });
  tensors.push({ name: 'rope.sin', dtype: 'int16', shape: [c.seqLen, hs / 2], params: {}, data: rope.sin });
  tensors.push({ name: 'exp2', dtype: 'int16', shape: [EXP2_TABLE_SIZE], params: {}, data: exp2Table() });
  tensors.push({ name: 'silu', dtype: 'int32', shape: [SILU_TABLE_SIZE], params: {}, data: siluTable() });
  const k = modelConstants(c.dim, hs, 1e-5);
  return {
    params: {
      formatVersion: FORMAT_VERSION, dim: c.dim, hiddenDim: c.hiddenDim, nLayers: c.nLayers, nHeads: c.nHeads, nKvHeads: c.nKvHeads,
      vocabSize: c.vocabSize, seqLen: c.seqLen, sharedClassifier: shared ? 1 : 0, logitFrac: LOGIT_FRAC,
      rmsEpsQ32: k.rmsEpsQ32, rmsSqShift: k.rmsSqShift, rmsDimScaleM: k.rmsDimScale.m, rmsDimScaleE: k.rmsDimScale.e,
      attScaleM: k.attScale.m, attScaleE: k.attScale.e,
    },
    tensors,
    formats,
    planMethod: planMethod(plan) + (gptq ? ' gptq' : ''),
  };
}

/** What, besides the plan, decides the artifact's bytes: the compile's options. */
export interface ArtifactSizeContext {
  /** The compile target (its name is stored in the artifact). */
  target: { name: string; simd: boolean };
  /** The checkpoint's path (its base name is stored). */
  sourcePath: string;
  /** Conformance positions (edgeq compile --vectors, default 32). */
  vectors?: number;
  tokenizer?: Tokenizer;
  gptq?: boolean;
}

/** The skeleton artifact (zero weights) and its program, for exact sizes and runtime builds. */
export function skeletonArtifact(c: ModelConfig, plan: PlanSpec, ctx: ArtifactSizeContext) {
  const model = skeletonModel(c, plan, !!ctx.gptq);
  const program = lowerInt8(model);
  const contents = contentsFromQuant({
    model, program, target: ctx.target, plan, gptq: ctx.gptq, tokenizer: ctx.tokenizer,
    sourceSha256: new Uint8Array(32), sourcePath: ctx.sourcePath, vectors: 0,
  });
  // The conformance case has the real one's shape (greedyConformance): n tokens, hashes, argmax.
  const n = Math.min(ctx.vectors ?? 32, c.seqLen);
  if (n > 0) contents.conformance = [{ name: 'greedy-bos', tokens: Array(n).fill(1), positions: n, outputHashes: Array(n).fill(0n), argmax: Array(n).fill(0) }];
  return { model, program, contents, bytes: writeArtifact(contents) };
}

/** Exact byte length of the model.edgeq `edgeq compile` writes for `plan` (see the header). */
export function exactArtifactBytes(c: ModelConfig, plan: PlanSpec, ctx: ArtifactSizeContext): number {
  return skeletonArtifact(c, plan, ctx).bytes.length;
}
