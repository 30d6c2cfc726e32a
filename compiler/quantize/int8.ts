// Float weights -> the int8 integer model (docs/integer-spec.md §5): int8 per-row weights
// and embeddings, int16 norm gains, baked tables and integer constants.
import type { FloatWeights } from '../import/graph.ts';
import { headSize as headSizeOf, kvDim as kvDimOf } from '../import/graph.ts';
import { EdgeqError } from '../util/errors.ts';
import { ACT_FRAC, EXP2_TABLE_SIZE, LOGIT_FRAC, SILU_TABLE_SIZE } from '../../runtime/kernels/reference/constants.ts';
import { FORMAT_VERSION, hostRopeSpec, matrixNames, type QDType, type QTensor, type QuantModel } from './quant-model.ts';
import { exp2Table, modelConstants, ropeTables, siluTable } from './tables.ts';
import { quantizeGain, quantizeRows, type QuantizedRows, type RowQuantOptions } from './weights.ts';
import { blockInputKey, calibrate, calibrateStats, type CalibrationOptions, type CalibrationStats, type Hessians } from './calibrate.ts';
import { awqFold, type AwqOptions } from './awq.ts';
import { gptqRows, type GptqOptions } from './gptq.ts';
import { LOWBIT_MIN_ROW_E, type LowbitRowRunner } from './lowbit.ts';
import { MAX_GEMV_INPUT, MIN_GEMV_E } from './lowbit-format.ts';
import { formatNamed } from './formats/registry.ts';
import { storedRule } from './formats/format.ts';
import type { QuantizedMatrix } from './formats/format.ts';
import type { MatrixFormat } from './quant-model.ts';
import { BLOCK_MATRICES, INT8, checkPlanForModel, planMethod, planName, requested, requestedClassifier, resolveMatrix, resolveStored, type BlockMatrix, type PlanSpec } from '../plan/plan.ts';

export interface Int8Options extends RowQuantOptions {
  /**
   * Choose the int8 values by GPTQ instead of rounding to nearest (same format, better
   * accuracy; docs/integer-spec.md §5.2). Calibration text is sampled from the float model
   * itself unless `hessians` are given.
   */
  gptq?: GptqOptions & CalibrationOptions & { hessians?: Hessians };
  /**
   * Fold AWQ scales into the float weights first (compiler/quantize/awq.ts: per input
   * channel, the α search on the plan's own formats), then quantize them (by GPTQ too if
   * `gptq`, on the folded Hessians). Low-bit plans only. Calibration as GPTQ's unless
   * `stats` are given (they must be the float model's, not the folded one's).
   */
  awq?: AwqOptions & CalibrationOptions & { stats?: CalibrationStats };
  /**
   * Precision plan (compiler/plan/plan.ts; default uniform int8): block matrices planned at
   * 1..6 bits get the LUT formats of docs/integer-spec.md §9 (GPTQ applies to them too: the
   * clip search's group scales, GPTQ's codes, compiler/quantize/gptq-lowbit.ts). The embedding is always int8; the classifier is int8 unless the plan opts in
   * (`plan.classifier`): a low-bit classifier of a shared-classifier model is split off as
   * its own matrix `wcls` (the embedding lookup stays int8), and `sharedClassifier` is 0.
   */
  plan?: PlanSpec;
  /** Runs the low-bit clip search's rows (compiler/quantize/lowbit-pool.ts: on worker threads); default here. */
  lowbitRows?: LowbitRowRunner;
  /** Receives the summed squared weight error per tensor (for reports). */
  onTensorError?: (name: string, sqError: number, count: number) => void;
}

// Lower bounds on the per-row scale exponents that keep every runtime shift >= 0
// (docs/integer-spec.md §5.4): GEMV rows e >= 10 (row absmax <= ~2032), embedding rows
// e >= ACT_FRAC (row absmax <= ~31); gains: sqrt(dim) * max|g| < 63500.
const MIN_EMBEDDING_E = ACT_FRAC;
const MAX_GAIN_TIMES_SQRT_DIM = 63500;

export function quantizeInt8(source: FloatWeights, opts: Int8Options = {}): QuantModel {
  const c = source.config;
  const hs = headSizeOf(c), kd = kvDimOf(c);
  if (!Number.isInteger(hs) || hs % 2 !== 0 || c.nHeads % c.nKvHeads !== 0) {
    throw new EdgeqError(`unsupported shape: dim ${c.dim}, ${c.nHeads} heads, ${c.nKvHeads} kv heads (head size must be an even integer)`);
  }
  if (hs > 256) throw new EdgeqError(`head size ${hs} > 256: attention scores would overflow int32 (docs/integer-spec.md §3.7)`);
  if (Math.max(c.dim, c.hiddenDim) > MAX_GEMV_INPUT) throw new EdgeqError(`dim ${c.dim} / hidden ${c.hiddenDim}: a GEMV of that length could overflow its int32 accumulator (limit ${MAX_GEMV_INPUT})`);
  if (c.vocabSize >= 1 << 17) throw new EdgeqError(`vocabulary ${c.vocabSize} >= 2^17: the sampler's probability sum would overflow int32`);
  if (c.seqLen > 4096) throw new EdgeqError(`seq_len ${c.seqLen} > 4096: beyond the attention output's proven shift range (docs/integer-spec.md §5.4)`);
  const tensors: QTensor[] = [];
  const add = (name: string, data: Int8Array | Int16Array | Int32Array, shape: number[], params: Record<string, number> = {}) => {
    const dtype = data instanceof Int8Array ? 'int8' : data instanceof Int16Array ? 'int16' : 'int32';
    tensors.push({ name, dtype, shape, params, data });
  };
  const plan = opts.plan;
  if (plan) checkPlanForModel(plan, c.nLayers);
  const { w, hessians } = awqAndHessians(source, opts);
  const formats: Record<string, MatrixFormat> = {};
  // A low-bit classifier (the plan's opt-in, after the fallback rule) is its own matrix wcls.
  const clsWant = requestedClassifier(plan);
  const shared = !!c.sharedClassifier && resolveMatrix(clsWant, c.dim).format === 'int8';
  /** A block matrix (or wcls) at the plan's low-bit format; false when the plan (after fallbacks) says int8. */
  const lowbit = (name: string, f: Float32Array, rows: number, cols: number): boolean => {
    const m = /^blocks\.(\d+)\.(\w+)$/.exec(name);
    if (name === 'wcls' && clsWant.bits === 8) return false;
    if (name !== 'wcls' && (!m || !(BLOCK_MATRICES as readonly string[]).includes(m[2]))) return false;
    const want = name === 'wcls' ? clsWant : plan ? requested(plan, Number(m![1]), m![2] as BlockMatrix) : INT8;
    const r = resolveStored(want, cols);
    if (r.format === 'int8') { formats[name] = { ...r, rule: r.rule + (hessians ? ', GPTQ' : '') }; return false; }
    const format = formatNamed(r.format)!;
    let q: QuantizedMatrix;
    try {
      const hk = inputOf(name), h = hessians && hk ? hessians.get(hk) : undefined;
      q = h && format.quantizeGptq ? format.quantizeGptq(f, rows, cols, r.groupSize, h, opts.gptq ?? {}) : format.quantize(f, rows, cols, r.groupSize, opts.lowbitRows);
    } catch (e) {
      if (!(e instanceof EdgeqError)) throw e;
      formats[name] = { bits: 8, groupSize: 0, format: 'int8', rule: `asked ${r.bits}-bit: a row scale exponent < ${LOWBIT_MIN_ROW_E} (weights too large): int8 fallback` };
      return false;
    }
    formats[name] = { bits: r.bits, groupSize: r.groupSize, format: r.format, rule: storedRule(r.rule, format, !!hessians, opts.gptq?.refit) };
    opts.onTensorError?.(name, q.sqError, rows * cols);
    format.tensors(rows, cols, r.groupSize).forEach((t, i) =>
      tensors.push({ name: name + t.suffix, dtype: t.dtype as QDType, shape: t.shape, params: t.params, data: q.data[i] }));
    return true;
  };
  // The Hessian of each matrix's input (calibrate.ts blockInputKey); the classifier's (the
  // embedding when shared) is the final norm's.
  const inputOf = (name: string): string | null => {
    const m = /^blocks\.(\d+)\.(\w+)$/.exec(name);
    if (m) return blockInputKey(Number(m[1]), m[2] as BlockMatrix);
    if (name === 'wcls' || (name === 'tok_embeddings' && shared)) return 'cls';
    return null; // an unshared embedding is only looked up
  };
  const matrix = (name: string, f: Float32Array, rows: number, cols: number, minE: number) => {
    if (lowbit(name, f, rows, cols)) return;
    const hk = inputOf(name), h = hessians && hk ? hessians.get(hk) : undefined;
    const r: QuantizedRows = h ? gptqRows(f, rows, cols, h, { ...opts, ...opts.gptq }) : quantizeRows(f, rows, cols, opts);
    for (let i = 0; i < rows; i++) {
      if (r.e[i] < minE) throw new EdgeqError(`${name} row ${i}: weights too large for the int8 format (scale exponent ${r.e[i]} < ${minE})`);
    }
    opts.onTensorError?.(name, r.sqError, rows * cols);
    const n = matrixNames(name);
    add(n.q, r.q, [rows, cols]);
    add(n.m, r.m, [rows]);
    add(n.e, r.e, [rows]);
  };
  const gain = (name: string, g: Float32Array) => {
    let amax = 0;
    for (const x of g) amax = Math.max(amax, Math.abs(x));
    if (amax * Math.sqrt(c.dim) >= MAX_GAIN_TIMES_SQRT_DIM) throw new EdgeqError(`${name}: gain ${amax} too large for the int8 format`);
    const { q, frac } = quantizeGain(g);
    add(name, q, [c.dim], { frac });
  };

  matrix('tok_embeddings', w.tokEmbeddings, c.vocabSize, c.dim, shared ? Math.max(MIN_EMBEDDING_E, MIN_GEMV_E) : MIN_EMBEDDING_E);
  w.blocks.forEach((b, l) => {
    const p = (n: string) => `blocks.${l}.${n}`;
    gain(p('rms_att'), b.rmsAtt);
    matrix(p('wq'), b.wq, c.dim, c.dim, MIN_GEMV_E);
    matrix(p('wk'), b.wk, kd, c.dim, MIN_GEMV_E);
    matrix(p('wv'), b.wv, kd, c.dim, MIN_GEMV_E);
    matrix(p('wo'), b.wo, c.dim, c.dim, MIN_GEMV_E);
    gain(p('rms_ffn'), b.rmsFfn);
    matrix(p('w1'), b.w1, c.hiddenDim, c.dim, MIN_GEMV_E);
    matrix(p('w2'), b.w2, c.dim, c.hiddenDim, MIN_GEMV_E);
    matrix(p('w3'), b.w3, c.hiddenDim, c.dim, MIN_GEMV_E);
  });
  gain('rms_final', w.rmsFinal);
  if (!shared) matrix('wcls', w.wcls, c.vocabSize, c.dim, MIN_GEMV_E);
  const rope = ropeTables(c.seqLen, hs, w.spec);
  add('rope.cos', rope.cos, [c.seqLen, hs / 2]);
  add('rope.sin', rope.sin, [c.seqLen, hs / 2]);
  add('exp2', exp2Table(), [EXP2_TABLE_SIZE]);
  add('silu', siluTable(), [SILU_TABLE_SIZE]);

  const k = modelConstants(c.dim, hs, w.spec?.normEps ?? 1e-5);
  if (k.rmsEpsQ32 * c.dim >= 2 ** 31) throw new EdgeqError(`RMSNorm eps * dim too large for the integer format`);
  return {
    params: {
      formatVersion: FORMAT_VERSION,
      dim: c.dim, hiddenDim: c.hiddenDim, nLayers: c.nLayers, nHeads: c.nHeads, nKvHeads: c.nKvHeads,
      vocabSize: c.vocabSize, seqLen: c.seqLen, sharedClassifier: shared ? 1 : 0,
      logitFrac: LOGIT_FRAC,
      rmsEpsQ32: k.rmsEpsQ32, rmsSqShift: k.rmsSqShift, rmsDimScaleM: k.rmsDimScale.m, rmsDimScaleE: k.rmsDimScale.e,
      attScaleM: k.attScale.m, attScaleE: k.attScale.e,
    },
    tensors,
    ...(plan ? { formats, planMethod: planMethod(plan) + (opts.awq ? ' awq' : '') + (hessians ? ' gptq' : '') } : {}),
    ...(hostRopeSpec(w.spec) ? { rope: hostRopeSpec(w.spec) } : {}),
  };
}


/** The weights to quantize (AWQ-folded if asked) and the Hessians GPTQ uses (of those weights' inputs), or null without GPTQ. */
function awqAndHessians(w: FloatWeights, opts: Int8Options): { w: FloatWeights; hessians: Hessians | null } {
  if (!opts.awq) return { w, hessians: opts.gptq ? (opts.gptq.hessians ?? calibrate(w, opts.gptq)) : null };
  const plan = opts.plan, c = w.config;
  const lowbit = plan && w.blocks.some((_, l) => BLOCK_MATRICES.some((m) =>
    resolveStored(requested(plan, l, m), m === 'w2' ? c.hiddenDim : c.dim).format !== INT8.format));
  if (!lowbit) throw new EdgeqError(`AWQ (--awq) scales weights for the low-bit formats; plan ${plan ? planName(plan) : 'uniform:8'} stores every block matrix as int8 (use GPTQ, --gptq, for int8)`);
  if (opts.gptq?.hessians) throw new EdgeqError('internal: AWQ with given GPTQ Hessians (pass awq.stats instead: the Hessians change with the fold)');
  const r = awqFold(w, opts.awq.stats ?? calibrateStats(w, { ...opts.gptq, ...opts.awq }), plan, { ...opts.awq, hessians: !!opts.gptq });
  return { w: r.weights, hessians: opts.gptq ? r.hessians : null };
}
