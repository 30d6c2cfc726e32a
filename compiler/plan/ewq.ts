// EWQ precision planner (issue 6, first slice): per-block precision from weight entropy.
//
// Entropy (compiler/plan/entropy.ts): H of a block = parameter-weighted mean of the softmax
// entropies of its 7 matrices. Rule, with μ, σ the mean and (population) standard deviation
// of the block entropies and bits b_hi > ... > b_lo from --bits:
//   H < μ - k·σ  -> b_lo        H > μ + k·σ  -> b_hi        otherwise -> the middle of --bits
// (the middle: element ⌊len/2⌋ of --bits sorted descending; 8,4,2 -> 4; 8,4 -> 4).
//
// With a byte budget the rule is replaced by a greedy fit: every block starts at b_hi; in
// passes over the blocks in ascending entropy order (lowest entropy = least damage first),
// each block is lowered one step of --bits until the model fits. If even every block at b_lo
// does not fit, the planner refuses with both numbers.
//
// Sizes are exact: by default the bytes of the model.edgeq `edgeq compile` writes for the
// plan (compiler/plan/size.ts: the real writer run on a zero-weight skeleton); `edgeq plan`
// passes a sizeOf that adds the runtime (or the firmware image) so that the budget covers
// what goes onto the device (compiler/plan/budget.ts). The per-block data bytes
// (matrixBytes, fixedBytes) are exact too; what remains (tables, strings, program,
// conformance) is reported as the format overhead.
import type { Graph, ModelConfig } from '../import/graph.ts';
import { headSize, kvDim } from '../import/graph.ts';
import { DATA_ALIGN } from '../emit/format.ts';
import { tensorBytes, type DTypeName } from '../emit/dtype.ts';
import { exp2Table, ropeTables, siluTable } from '../quantize/tables.ts';
import { formatNamed } from '../quantize/formats/registry.ts';
import { EdgeqError } from '../util/errors.ts';
import type { TextTokenizer as Tokenizer } from '../import/tokenizers/text-tokenizer.ts';
import { exactArtifactBytes } from './size.ts';
import { modelEntropies, type BlockEntropy } from './entropy.ts';
import {
  BLOCK_MATRICES, DEFAULT_GROUP_SIZE, PLAN_BITS, PLAN_GROUP_SIZES, formatOfBits, planFromJson, resolveStored,
  type BlockMatrix, type PlanBits, type PlanSpec, type ResolvedChoice, type WeightFormat,
} from './plan.ts';

export const DEFAULT_EWQ_BITS: readonly PlanBits[] = [8, 4, 2];
export const DEFAULT_EWQ_K = 0.5;

const aligned = (n: number) => Math.ceil(n / DATA_ALIGN) * DATA_ALIGN;
const tb = (d: DTypeName, shape: number[], groupSize = 0) => aligned(tensorBytes(d, shape, groupSize));

/** What a block matrix gets (resolveMatrix plus the quantizer's §5.4 input-size limit). */
export function resolveForModel(bits: PlanBits, groupSize: number, cols: number): ResolvedChoice {
  return resolveStored({ bits, groupSize: bits === 8 ? 0 : groupSize }, cols);
}

/** Artifact bytes (data, aligned) and tensor count of one [rows, cols] matrix in format r. */
export function matrixBytes(r: { bits: number; groupSize: number; format: WeightFormat }, rows: number, cols: number): { bytes: number; tensors: number } {
  const stored = formatNamed(r.format)!.tensors(rows, cols, r.groupSize);
  return { bytes: stored.reduce((a, t) => a + tb(t.dtype, t.shape, t.params.groupSize ?? 0), 0), tensors: stored.length };
}

/** Bytes and tensors of everything but the block matrices (int8 embedding/classifier, gains, tables). */
export function fixedBytes(c: ModelConfig): { bytes: number; tensors: number } {
  const int8 = { bits: 8, groupSize: 0, format: 'int8' as const };
  let bytes = matrixBytes(int8, c.vocabSize, c.dim).bytes, tensors = 3;
  if (!c.sharedClassifier) { bytes += matrixBytes(int8, c.vocabSize, c.dim).bytes; tensors += 3; }
  bytes += (2 * c.nLayers + 1) * tb('int16', [c.dim]); tensors += 2 * c.nLayers + 1;
  const rope = ropeTables(c.seqLen, headSize(c));
  bytes += aligned(rope.cos.byteLength) + aligned(rope.sin.byteLength) + aligned(exp2Table().byteLength) + aligned(siluTable().byteLength);
  tensors += 4;
  return { bytes, tensors };
}

export interface MatrixPlan {
  name: BlockMatrix; rows: number; cols: number; entropy: number; choice: ResolvedChoice; bytes: number; tensors: number;
  /** --method mixed (compiler/plan/mixed.ts): tr(ΔW H ΔWᵀ) / tr(W H Wᵀ) of the chosen format. */
  damage?: number;
  /** --method mixed with the KL refinement: measured KL per unit damage (nats/token). */
  sensitivity?: number;
}
export interface BlockPlan {
  block: number; entropy: number; bits: PlanBits; rule: string; bytes: number; matrices: MatrixPlan[];
  /** Measured damage (--method damage, compiler/plan/damage.ts): ΔKL when only this block is lowered. */
  deltaKl?: number;
}

export interface EwqOptions {
  /** Candidate bits (default 8,4,2). */
  bits?: readonly PlanBits[];
  k?: number;
  groupSize?: number;
  /** Budget for model.edgeq in bytes (greedy fit instead of the k·σ rule). */
  budgetBytes?: number;
  /** Name of the budget's source, for messages (e.g. "target cortex-m flashBytes"). */
  budgetName?: string;
  /** Conformance positions the compile will embed (default 32). */
  vectors?: number;
  /** Precomputed entropies (default: softmax entropies of the graph). */
  entropies?: BlockEntropy[];
  /**
   * Bytes a plan costs against the budget (default: the exact model.edgeq bytes for target
   * wasm32 and this checkpoint's name; edgeq plan adds the runtime or firmware).
   */
  sizeOf?: (spec: PlanSpec) => number;
  /** Base name of the plan file the compile will read (it is stored in the artifact). */
  planName?: string;
  /** Tokenizer the compile will embed (exact sizes). */
  tokenizer?: Tokenizer;
  /** Target of the compile (its name is stored in the artifact; default wasm32). */
  target?: { name: string; simd: boolean };
  /** Checkpoint path (its base name is stored in the artifact). */
  sourcePath?: string;
  /** The compile will use --gptq (its rule texts are stored in the artifact: exact sizes). */
  gptq?: boolean;
}

export interface EwqPlan {
  method: string;
  bits: PlanBits[];
  k: number;
  groupSize: number;
  mean: number;
  std: number;
  blocks: BlockPlan[];
  /** Exact model.edgeq bytes (compiler/plan/size.ts): fixed + blocks + format overhead. */
  totalBytes: number;
  /** With a budget: the bytes compared with it (sizeOf; e.g. model.edgeq + runtime.wasm). */
  budgetUsed?: number;
  /** What the budget covers, for messages and the plan file. */
  budgetCovers?: string;
  fixedBytes: number;
  overheadBytes: number;
  budgetBytes?: number;
  /** --method damage: the measurement (hi → lo on calibrationTokens) and the mean/std of the ΔKL values. */
  damage?: { hi: number; lo: number; calibrationTokens: number; baseKl: number; mean: number; std: number };
  /** --method mixed: how the formats were scored and the block matrices' bits per weight (used, and the --bpw budget if one was given). */
  mixed?: MixedSummary;
}

/** What a mixed plan (compiler/plan/mixed.ts) records about its allocation. */
export interface MixedSummary {
  /** Damage scored with GPTQ's stored values (compile --gptq) or the clip search's. */
  gptq: boolean;
  calibrationTokens: number;
  /** Σ damage of the chosen formats. */
  damage: number;
  /** With the KL refinement: tokens it measured on, and Σ sensitivity · damage (estimated KL, nats/token). */
  klTokens?: number;
  klEstimate?: number;
  /** Bits per block weight of the plan (data bytes of the block matrices · 8 / block weights). */
  blockBpw: number;
  /** --bpw, when the budget was given as bits per block weight. */
  bpwBudget?: number;
}


/** Checks and sorts --bits (descending, distinct). */
export function parseBitsList(s: string | readonly number[]): PlanBits[] {
  const parts = typeof s === 'string' ? s.split(',').map((x) => x.trim()) : s.map(String);
  const out: PlanBits[] = [];
  for (const p of parts) {
    const b = Number(p);
    if (!/^\d+(\.\d+)?$/.test(p) || !PLAN_BITS.includes(b as PlanBits)) throw new EdgeqError(`--bits ${JSON.stringify(String(s))}: ${JSON.stringify(p)} is not one of ${PLAN_BITS.join(', ')}`, {}, 2);
    if (!out.includes(b as PlanBits)) out.push(b as PlanBits);
  }
  if (out.length === 0) throw new EdgeqError('--bits: give at least one of ' + PLAN_BITS.join(', '), {}, 2);
  return out.sort((a, b) => b - a);
}

/** A plan spec for a list of block plans, named as the compile will see it (its name and a sha256 are stored). */
export function specOfBlocks(p: Pick<EwqPlan, 'bits' | 'groupSize' | 'method' | 'mean' | 'std' | 'blocks'>, planName = 'plan.json'): PlanSpec {
  return { ...planFromJson(ewqPlanJson({ ...p, k: NaN, totalBytes: 0, fixedBytes: 0, overheadBytes: 0 }), planName), sha256: '0'.repeat(64) };
}

/** The default sizeOf: exact model.edgeq bytes for the compile described by `o`. */
export function artifactSizer(c: ModelConfig, o: EwqOptions): (spec: PlanSpec) => number {
  return (spec) => exactArtifactBytes(c, spec, {
    target: o.target ?? { name: 'wasm32', simd: true }, sourcePath: o.sourcePath ?? 'model.bin', vectors: o.vectors, tokenizer: o.tokenizer, gptq: o.gptq,
  });
}

/** [rows, cols] of every block matrix of a model. */
export const blockShapes = (c: ModelConfig): Record<BlockMatrix, [number, number]> => {
  const kd = kvDim(c);
  return { wq: [c.dim, c.dim], wk: [kd, c.dim], wv: [kd, c.dim], wo: [c.dim, c.dim], w1: [c.hiddenDim, c.dim], w2: [c.dim, c.hiddenDim], w3: [c.hiddenDim, c.dim] };
};

/** Entropy-free block descriptions (FastEWQ, uniform): shapes only, entropy NaN. */
export function shapeOnlyBlocks(c: ModelConfig): BlockEntropy[] {
  const shapes = blockShapes(c);
  return Array.from({ length: c.nLayers }, (_, l) => ({
    block: l, params: 0, entropy: NaN,
    matrices: BLOCK_MATRICES.map((name) => ({ name, rows: shapes[name][0], cols: shapes[name][1], params: shapes[name][0] * shapes[name][1], entropy: NaN })),
  }));
}

/**
 * Greedy budget fit: every block starts at bits[0]; in passes over `order` (least damage
 * first) each block is lowered one step of `bits` until size(levels) <= budget. Returns the
 * levels (indices into bits), or null when even every block at the last level does not fit.
 * Stops at the first fit, so the plan one step above (the previous state) did not fit: it is
 * never smaller than it has to be by more than the last step.
 */
export function greedyLevels(L: number, nLevels: number, order: readonly number[], size: (levels: number[]) => number, budget: number): number[] | null {
  if (size(Array(L).fill(nLevels - 1)) > budget) return null;
  const level = Array(L).fill(0);
  if (size(level) <= budget) return level;
  for (;;) {
    for (const i of order) {
      if (level[i] < nLevels - 1) {
        level[i]++;
        if (size(level) <= budget) return level;
      }
    }
  }
}

interface Fitted { blocks: BlockPlan[]; used: number }

/** Plans of `ents` fitted to o.budgetBytes in `order` (or the refusal, with the numbers). */
function fitBlocks(c: ModelConfig, ents: BlockEntropy[], bits: PlanBits[], gs: number, order: number[], o: EwqOptions, method: string): Fitted {
  const budget = o.budgetBytes!, what = o.budgetName ?? 'the budget';
  const sizeOf = o.sizeOf ?? artifactSizer(c, o);
  const build = (level: number[]) => ents.map((e, i) => planBlock(e, bits[level[i]], gs, ''));
  const size = (level: number[]) => sizeOf(specOfBlocks({ bits, groupSize: gs, method, mean: NaN, std: NaN, blocks: build(level) }, o.planName));
  const level = greedyLevels(ents.length, bits.length, order, size, budget);
  if (!level) {
    const lo = bits[bits.length - 1], need = size(Array(ents.length).fill(bits.length - 1));
    throw new EdgeqError(`the model does not fit ${what}: it needs ${need} bytes with every block at ${lo} bits (the lowest of --bits ${bits.join(',')}; embedding and classifier int8: ${fixedBytes(c).bytes} bytes of data), budget ${budget} bytes, ${need - budget} bytes over`);
  }
  return { blocks: build(level), used: size(level) };
}

/**
 * A plan with given bits per block and no entropies (entropy NaN; FastEWQ): same size model
 * and plan file as EWQ.
 */
export function planWithBits(c: ModelConfig, choices: ReadonlyArray<{ bits: PlanBits; rule: string }>, o: EwqOptions & { method: string }): EwqPlan {
  const bits = parseBitsList(o.bits ?? DEFAULT_EWQ_BITS);
  const gs = checkGroupSize(o.groupSize ?? DEFAULT_GROUP_SIZE);
  const blocks = shapeOnlyBlocks(c).map((be, l) => planBlock(be, choices[l].bits, gs, choices[l].rule));
  return finish(c, { method: o.method, bits, k: NaN, groupSize: gs, mean: NaN, std: NaN, blocks }, o);
}

function checkGroupSize(gs: number): number {
  if (!(PLAN_GROUP_SIZES as readonly number[]).includes(gs)) throw new EdgeqError(`--group-size ${gs} is not supported; group sizes: ${PLAN_GROUP_SIZES.join(', ')}`, {}, 2);
  return gs;
}

/** Adds the exact sizes (and the budget's use) to a plan. */
export function finish(c: ModelConfig, p: Omit<EwqPlan, 'totalBytes' | 'fixedBytes' | 'overheadBytes'>, o: EwqOptions, used?: number): EwqPlan {
  const spec = specOfBlocks(p, o.planName);
  const total = artifactSizer(c, o)(spec);
  const fixed = fixedBytes(c).bytes;
  const blocks = p.blocks.reduce((s, b) => s + b.bytes, 0);
  return {
    ...p, totalBytes: total, fixedBytes: fixed, overheadBytes: total - fixed - blocks,
    ...(o.budgetBytes !== undefined ? { budgetBytes: o.budgetBytes, budgetUsed: used ?? (o.sizeOf ?? artifactSizer(c, o))(spec) } : {}),
  };
}

function planBlock(be: BlockEntropy, bits: PlanBits, groupSize: number, rule: string): BlockPlan {
  const matrices = be.matrices.map((m) => {
    const choice = resolveForModel(bits, groupSize, m.cols);
    const s = matrixBytes(choice, m.rows, m.cols);
    return { name: m.name, rows: m.rows, cols: m.cols, entropy: m.entropy, choice, bytes: s.bytes, tensors: s.tensors };
  });
  return { block: be.block, entropy: be.entropy, bits, rule, bytes: matrices.reduce((a, m) => a + m.bytes, 0), matrices };
}

/**
 * Blocks fitted to o.budgetBytes in a given order (least damage first), with `why(block,
 * rank, lowered)` as each block's rule. Used by FastEWQ (its own ranking) and uniform plans.
 */
export function planFittedInOrder(c: ModelConfig, ents: BlockEntropy[], order: number[], o: EwqOptions & { method: string }, why: (b: BlockPlan, rank: number) => string): EwqPlan {
  const bits = parseBitsList(o.bits ?? DEFAULT_EWQ_BITS);
  const gs = checkGroupSize(o.groupSize ?? DEFAULT_GROUP_SIZE);
  const f = fitBlocks(c, ents, bits, gs, order, o, o.method);
  const rank = new Map(order.map((i, r) => [i, r + 1]));
  const blocks = f.blocks.map((b, i) => ({ ...b, rule: why(b, rank.get(i)!) }));
  return finish(c, { method: o.method, bits, k: NaN, groupSize: gs, mean: NaN, std: NaN, blocks }, o, f.used);
}

/** The EWQ plan of a model (deterministic: same weights and options, same plan). */
export function planEwq(g: Graph, o: EwqOptions = {}): EwqPlan {
  const bits = parseBitsList(o.bits ?? DEFAULT_EWQ_BITS);
  const k = o.k ?? DEFAULT_EWQ_K;
  const gs = checkGroupSize(o.groupSize ?? DEFAULT_GROUP_SIZE);
  if (!(k >= 0) || !Number.isFinite(k)) throw new EdgeqError(`--k must be a finite number >= 0, got ${k}`, {}, 2);
  const ents = o.entropies ?? modelEntropies(g);
  const L = ents.length;
  const mean = ents.reduce((s, b) => s + b.entropy, 0) / Math.max(1, L);
  const std = Math.sqrt(ents.reduce((s, b) => s + (b.entropy - mean) ** 2, 0) / Math.max(1, L));
  const hi = bits[0], lo = bits[bits.length - 1], mid = bits[Math.floor(bits.length / 2)];
  const oo: EwqOptions = { sourcePath: g.source?.path, ...o };
  const method = o.budgetBytes === undefined
    ? `ewq k=${k} bits=${bits.join(',')} group=${gs}`
    : `ewq budget=${o.budgetBytes} bits=${bits.join(',')} group=${gs}`;

  let blocks: BlockPlan[], used: number | undefined;
  // Enough decimals in the rule texts to tell H from the thresholds.
  const dp = Math.min(6, Math.max(2, Math.ceil(-Math.log10(Math.max(k * std, 1e-9))) + 1));
  const f2 = (x: number) => x.toFixed(dp);
  if (o.budgetBytes === undefined) {
    const a = mean - k * std, b = mean + k * std;
    blocks = ents.map((e) => {
      const H = f2(e.entropy);
      if (e.entropy < a) return planBlock(e, lo, gs, `H=${H} < mean−${k}·std=${f2(a)} → ${lo} bits`);
      if (e.entropy > b) return planBlock(e, hi, gs, `H=${H} > mean+${k}·std=${f2(b)} → ${hi} bits`);
      return planBlock(e, mid, gs, `mean−${k}·std=${f2(a)} ≤ H=${H} ≤ mean+${k}·std=${f2(b)} → ${mid} bits`);
    });
  } else {
    const budget = o.budgetBytes;
    const order = ents.map((e, i) => i).sort((x, y) => ents[x].entropy - ents[y].entropy || x - y);
    const rank = new Map(order.map((i, r) => [i, r + 1]));
    const f = fitBlocks(g.config, ents, bits, gs, order, oo, method);
    used = f.used;
    blocks = f.blocks.map((b, i) => {
      const r = `${rank.get(i)}/${L}`;
      const why = b.bits === hi
        ? `budget ${budget} bytes: H=${f2(b.entropy)} (entropy rank ${r}, lowest first) kept at ${hi} bits`
        : `budget ${budget} bytes: H=${f2(b.entropy)} (entropy rank ${r}, lowest first) lowered ${hi} → ${b.bits} bits to fit`;
      return { ...b, rule: why };
    });
  }
  return finish(g.config, { method, bits, k, groupSize: gs, mean, std, blocks }, oo, used);
}

const r6 = (x: number) => Math.round(x * 1e6) / 1e6;
const p9 = (x: number) => Number(x.toPrecision(9));
const choiceJson = (c: { bits: PlanBits; groupSize: number; format: WeightFormat }) =>
  c.bits === 8 ? { bits: 8, format: 'int8' } : { bits: c.bits, groupSize: c.groupSize, format: c.format };

/** The plan file (compiler/plan/plan.ts format, with the optional entropy/rule fields). */
export function ewqPlanJson(p: Omit<EwqPlan, 'budgetUsed' | 'budgetCovers' | 'damage'> & Partial<Pick<EwqPlan, 'budgetUsed' | 'budgetCovers' | 'damage'>>): Record<string, unknown> {
  const hi = p.bits[0];
  return {
    edgeqPlan: 1,
    comment: p.mixed
      ? `mixed precision plan (edgeq plan): ${p.method}; a format per block matrix; matrix damage = tr(ΔW H ΔWᵀ) / tr(W H Wᵀ) on ${p.mixed.calibrationTokens} self-generated calibration tokens (H = Σ x xᵀ of its inputs; ΔW as ${p.mixed.gptq ? 'compile --gptq' : 'compile without --gptq'} stores it); total ${p9(p.mixed.damage)}${p.mixed.klEstimate !== undefined ? `; matrix sensitivity = KL (nats/token) per unit damage, measured on ${p.mixed.klTokens} self-generated tokens with only that matrix quantized; estimated KL Σ sensitivity · damage ${p9(p.mixed.klEstimate)}` : ''}`
      : p.damage
      ? `measured-damage precision plan (edgeq plan): ${p.method}; block deltaKl = mean KL (nats/token) against the float model with only that block at ${p.damage.lo} bits and the others at ${p.damage.hi}, minus ${r6(p.damage.baseKl)} (all at ${p.damage.hi}), on ${p.damage.calibrationTokens} calibration tokens; mean ${r6(p.damage.mean)}, std ${r6(p.damage.std)}`
      : Number.isFinite(p.mean)
        ? `EWQ precision plan (edgeq plan): ${p.method}; block entropy = parameter-weighted mean of softmax entropies (nats); mean ${r6(p.mean)}, std ${r6(p.std)}`
        : `precision plan (edgeq plan): ${p.method}; no weights read, no entropies`,
    method: p.method,
    // model.edgeq: exact bytes of the compile's artifact; with a budget, what it covers and the use.
    bytes: {
      'model.edgeq': p.totalBytes,
      ...(p.budgetBytes !== undefined ? { budget: p.budgetBytes, used: p.budgetUsed ?? p.totalBytes, covers: p.budgetCovers ?? 'model.edgeq' } : {}),
    },
    ...(p.mixed ? { blockBpw: { used: p9(p.mixed.blockBpw), ...(p.mixed.bpwBudget !== undefined ? { budget: p.mixed.bpwBudget } : {}) } } : {}),
    default: hi === 8 ? { bits: 8 } : { bits: hi, groupSize: p.groupSize },
    blocks: Object.fromEntries(p.blocks.map((b) => [String(b.block), {
      ...choiceJson({ bits: b.bits, groupSize: p.groupSize, format: formatOfBits(b.bits) }),
      ...(Number.isFinite(b.entropy) ? { entropy: r6(b.entropy) } : {}),
      ...(b.deltaKl !== undefined && Number.isFinite(b.deltaKl) ? { deltaKl: Number(b.deltaKl.toPrecision(9)) } : {}),
      rule: b.rule,
      matrices: Object.fromEntries(b.matrices.map((m) => [m.name, {
        ...choiceJson(m.choice), ...(Number.isFinite(m.entropy) ? { entropy: r6(m.entropy) } : {}),
        ...(m.damage !== undefined ? { damage: p9(m.damage) } : {}),
        ...(m.sensitivity !== undefined ? { sensitivity: p9(m.sensitivity) } : {}),
        ...(m.damage !== undefined || m.choice.bits !== b.bits || (m.choice.bits !== 8 && m.choice.groupSize !== p.groupSize) ? { rule: m.choice.rule } : {}),
      }])),
    }])),
    embedding: { bits: 8 },
    classifier: { bits: 8 },
  };
}

/** An EWQ plan as the quantizer's PlanSpec (for `edgeq compile --plan ewq`). */
export function ewqPlanSpec(g: Graph, o: EwqOptions = {}, name = 'ewq'): PlanSpec {
  return planFromJson(ewqPlanJson(planEwq(g, o)), name);
}

export { BLOCK_MATRICES };
