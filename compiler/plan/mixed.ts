// Mixed plans (issue 15 item 6): a weight format per block matrix, chosen among every
// registered format and group size under a budget.
//
// Damage of matrix W [rows, cols] in format f (its stored values Ŵ, ΔW = W − Ŵ):
//   D(W, f) = tr(ΔW H ΔWᵀ) / tr(W H Wᵀ)
// with H = Σ x xᵀ the Hessian of the matrix's inputs on the self-generated calibration text
// (compiler/quantize/calibrate.ts, the Hessians `--gptq` uses): the relative squared error of
// the matrix's output W x over the calibration activations. Ŵ is what the compile stores:
// the format's clip search, or with `gptq` the GPTQ quantizer on the same Hessian (the
// identical call, so the scored matrix is byte for byte the compiled one).
//
// KL refinement (measureSensitivity; edgeq plan --kl-tokens, on by default): damage says how
// wrong a matrix's output is, not what that costs at the logits, so each matrix's KL per unit
// damage is measured with bundles that quantize only that matrix (at 2 and at 4 bits) and
// interpolated per candidate (sensitivityAt); the objective becomes Σ sensitivity · D, an
// estimate of the KL. Without it, Σ D.
//
// Allocation (a Lagrangian greedy on the convex hulls, the classic discrete rate–distortion
// allocation): the objective summed over all block matrices, the cost each candidate's bytes.
// Every matrix starts at its cheapest candidate; then, repeatedly, the matrix whose next step
// on its lower convex hull of (bytes, cost) has the largest cost reduction per byte is raised
// one step, as long as the step fits the budget (a step that does not fit ends that matrix's
// hull walk). This reaches the optimum of the Lagrangian relaxation at every budget that
// falls on a hull vertex; a final pass spends what is left on the best-ratio upgrade among
// all candidates (hull or not) that still fits, until none does. The budget is never
// exceeded: every step is checked against it.
//
// Costs: with a bits-per-block-weight budget (--bpw) the data bytes of the matrix's stored
// tensors (values, group bytes, row scales: what docs/quality.md's "bpw block" counts), the
// budget floor(bpw · block weights / 8); with a device byte budget (--budget-bytes, --target)
// the aligned artifact bytes (ewq.ts matrixBytes), the budget what the rest of the bundle
// leaves (the CLI's fit measures it).
import type { FloatWeights, ModelConfig } from '../import/graph.ts';
import { tensorBytes } from '../emit/dtype.ts';
import { EdgeqError } from '../util/errors.ts';
import type { Hessians } from '../quantize/calibrate.ts';
import { CALIBRATION_LENGTH, blockInputKey } from '../quantize/calibrate.ts';
import { FloatTransformer } from '../reference/float/forward.ts';
import { Sampler } from '../reference/float/sampler.ts';
import { teacherForced } from '../eval/teacher-forced.ts';
import { cachedReference, wasmEngine } from './damage.ts';
import { quantizeInt8 } from '../quantize/int8.ts';
import { gptqRows } from '../quantize/gptq.ts';
import { BASE_FORMAT, WEIGHT_FORMATS, formatNamed, type PlanBits } from '../quantize/formats/registry.ts';
import { BLOCK_MATRICES, DEFAULT_GROUP_SIZE, planFromJson, resolveStored, type BlockMatrix, type ResolvedChoice } from './plan.ts';
import { artifactSizer, blockShapes, finish, matrixBytes, parseBitsList, specOfBlocks, type BlockPlan, type EwqOptions, type EwqPlan } from './ewq.ts';

/** One way to store a matrix: the format (as the quantizer resolves it), its bytes and damage. */
export interface MixedCandidate {
  choice: ResolvedChoice;
  /** Data bytes of the stored tensors (unaligned; the "bpw block" measure). */
  dataBytes: number;
  /** Artifact bytes of the stored tensors (each aligned; the device-budget measure). */
  alignedBytes: number;
  /** tr(ΔW H ΔWᵀ) / tr(W H Wᵀ). */
  damage: number;
}

/** A block matrix and its candidates (cheapest first by data bytes). */
export interface MatrixScores {
  block: number; name: BlockMatrix; rows: number; cols: number; candidates: MixedCandidate[];
  /**
   * KL per unit of damage (nats/token) of every candidate alike, or absent: the allocation
   * minimizes Σ sensitivity · damage (absent, and no probes: 1, the plain sum of damages).
   */
  sensitivity?: number;
  /** Measured probes (measureSensitivity): a candidate's ΔKL; sensitivityAt interpolates between them. */
  probes?: Array<{ choice: ResolvedChoice; damage: number; deltaKl: number }>;
}

/**
 * KL per unit damage of a candidate of damage `d`: from the probes (ΔKL / damage at each,
 * linear in log damage between them, the nearest one's outside), else m.sensitivity; undefined
 * when neither is there.
 */
export function sensitivityAt(m: Pick<MatrixScores, 'sensitivity' | 'probes'>, d: number): number | undefined {
  const pts = (m.probes ?? []).filter((p) => p.damage > 0).map((p) => ({ x: Math.log(p.damage), s: Math.max(p.deltaKl, 0) / p.damage })).sort((a, b) => a.x - b.x);
  if (!pts.length) return m.sensitivity;
  const x = Math.log(Math.max(d, 1e-300));
  if (x <= pts[0].x) return pts[0].s;
  for (let i = 1; i < pts.length; i++) {
    if (x <= pts[i].x) { const t = (x - pts[i - 1].x) / (pts[i].x - pts[i - 1].x); return pts[i - 1].s + t * (pts[i].s - pts[i - 1].s); }
  }
  return pts[pts.length - 1].s;
}

/**
 * Every registered (format, group size) a matrix of input size `cols` is stored in as asked
 * (no fallback), restricted to `bits`: int8, q6 g32, q5 g32/g64, q4…q1 g32/g64/g128 where
 * cols allows. int8 is always there (the fallback of every format).
 */
export function candidateChoices(cols: number, bits: readonly PlanBits[]): ResolvedChoice[] {
  const out: ResolvedChoice[] = [];
  for (const f of WEIGHT_FORMATS) {
    if (f.name !== BASE_FORMAT.name && !bits.includes(f.bits)) continue;
    for (const g of f.groupSizes.length ? f.groupSizes : [0]) {
      const r = resolveStored({ bits: f.bits, groupSize: g, format: f.name }, cols);
      if (r.format === f.name && r.groupSize === g) out.push(r);
    }
  }
  return out;
}

/**
 * The candidate bits without --bits: int8 and the bit-serial LUT formats, the set the mixed
 * rows of docs/quality.md were measured with. vq2 (2.5 bits) came later and is a candidate
 * only when asked for (--bits …,2.5): its mixed plans are not measured yet.
 */
export const MIXED_DEFAULT_BITS: readonly PlanBits[] = WEIGHT_FORMATS.filter((f) => f.name === BASE_FORMAT.name || f.groupSizes.length > 0).map((f) => f.bits);

/** Σ_r d_r H d_r over the rows of d [rows, cols] (H symmetric, [cols, cols]). */
export function hessianForm(d: ArrayLike<number>, rows: number, cols: number, h: Float64Array): number {
  let total = 0;
  const hd = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    hd.fill(0);
    for (let i = 0; i < cols; i++) {
      const di = d[o + i];
      if (di === 0) continue;
      const hi = i * cols;
      for (let j = 0; j < cols; j++) hd[j] += h[hi + j] * di;
    }
    for (let j = 0; j < cols; j++) total += d[o + j] * hd[j];
  }
  return total;
}

/** The values a matrix is stored as in `choice` (as the compile quantizes it), or null when it does not fit the format. */
export function storedValues(w: Float32Array, rows: number, cols: number, choice: ResolvedChoice, h: Float64Array | undefined): Float32Array | null {
  const f = formatNamed(choice.format)!;
  try {
    if (f.name === BASE_FORMAT.name && h) {
      const r = gptqRows(w, rows, cols, h);
      return f.dequantize([r.q, r.m, r.e], rows, cols, 0);
    }
    const q = h && f.quantizeGptq ? f.quantizeGptq(w, rows, cols, choice.groupSize, h, {}) : f.quantize(w, rows, cols, choice.groupSize);
    return f.dequantize(q.data, rows, cols, choice.groupSize);
  } catch (e) {
    if (e instanceof EdgeqError) return null; // the compile falls back to int8 (a row scale out of range)
    throw e;
  }
}

/** Data bytes of a matrix stored in `choice` (the tensors' bytes, unaligned). */
export const dataBytes = (choice: ResolvedChoice, rows: number, cols: number): number =>
  formatNamed(choice.format)!.tensors(rows, cols, choice.groupSize).reduce((s, t) => s + tensorBytes(t.dtype, t.shape, t.params.groupSize ?? 0), 0);

export interface ScoreOptions {
  /** Score with the GPTQ quantizer (what `compile --gptq` stores); default the clip search. */
  gptq?: boolean;
  /** Candidate bits (default every format's). */
  bits?: readonly PlanBits[];
  /** After each matrix: (done, total, what). */
  progress?: (done: number, total: number, what: string) => void;
}

/** The damage of every candidate format of every block matrix (Hessians: calibrate.ts). */
export function scoreMatrices(w: FloatWeights, hessians: Hessians, o: ScoreOptions = {}): MatrixScores[] {
  const c = w.config, bits = o.bits ?? MIXED_DEFAULT_BITS, shapes = blockShapes(c);
  const out: MatrixScores[] = [];
  const total = c.nLayers * BLOCK_MATRICES.length;
  w.blocks.forEach((b, l) => {
    for (const name of BLOCK_MATRICES) {
      const f = b[name], [rows, cols] = shapes[name];
      const h = hessians.get(blockInputKey(l, name));
      if (!h) throw new Error(`internal: no calibration Hessian for blocks.${l}.${name}`);
      const ref = hessianForm(f, rows, cols, h);
      const candidates: MixedCandidate[] = [];
      for (const choice of candidateChoices(cols, bits)) {
        const v = storedValues(f, rows, cols, choice, o.gptq ? h : undefined);
        if (!v) continue;
        const d = new Float64Array(rows * cols);
        for (let k = 0; k < d.length; k++) d[k] = f[k] - v[k];
        candidates.push({
          choice, dataBytes: dataBytes(choice, rows, cols), alignedBytes: matrixBytes(choice, rows, cols).bytes,
          damage: ref > 0 ? hessianForm(d, rows, cols, h) / ref : 0,
        });
      }
      candidates.sort((x, y) => x.dataBytes - y.dataBytes || x.damage - y.damage);
      out.push({ block: l, name, rows, cols, candidates });
      o.progress?.(out.length, total, `block ${l} ${name}: ${candidates.map((x) => `${label(x.choice)} ${x.damage.toPrecision(3)}`).join(', ')}`);
    }
  });
  return out;
}

/** A choice as plans and reports spell it: int8, q4_lut g64. */
export const label = (c: { format: string; groupSize: number }): string => (c.groupSize ? `${c.format} g${c.groupSize}` : c.format);

/** Which cost the budget counts. */
export type CostKind = 'dataBytes' | 'alignedBytes';

/** Indices into each matrix's candidates that the cheapest plan picks (the smallest cost, then the least damage). */
function cheapest(scores: readonly MatrixScores[], cost: CostKind): number[] {
  return scores.map((m) => m.candidates.reduce((best, x, i) => (x[cost] < m.candidates[best][cost] || (x[cost] === m.candidates[best][cost] && x.damage < m.candidates[best].damage) ? i : best), 0));
}

/** The lower convex hull of a matrix's (cost, damage) points: candidate indices, ascending cost, strictly falling damage and slope. */
export function lowerHull(cands: readonly MixedCandidate[], cost: CostKind): number[] {
  const idx = cands.map((_, i) => i).sort((a, b) => cands[a][cost] - cands[b][cost] || cands[a].damage - cands[b].damage || a - b);
  const hull: number[] = [];
  for (const i of idx) {
    const p = cands[i];
    if (hull.length && p.damage >= cands[hull[hull.length - 1]].damage) continue; // dominated: costs as much or more, damages no less
    while (hull.length >= 2) {
      const a = cands[hull[hull.length - 2]], b = cands[hull[hull.length - 1]];
      // b is above the segment a–p (or on it): drop it.
      const cross = (b[cost] - a[cost]) * (p.damage - a.damage) - (b.damage - a.damage) * (p[cost] - a[cost]);
      if (cross <= 0) hull.pop(); else break;
    }
    hull.push(i);
  }
  return hull;
}

export interface Allocation {
  /** Per matrix, the index of its chosen candidate. */
  pick: number[];
  /** Σ cost of the picks (<= budget). */
  used: number;
  /** Σ damage of the picks. */
  damage: number;
  /** Σ cost when every matrix takes its cheapest candidate. */
  minimum: number;
}

/**
 * The greedy Lagrangian allocation of `budget` (in `cost` units) over the matrices; null when
 * even the cheapest plan costs more than the budget (Allocation.minimum says how much).
 */
export function allocate(scores: readonly MatrixScores[], budget: number, cost: CostKind): Allocation | { pick: null; minimum: number } {
  // The objective: each candidate's damage weighted by its matrix's sensitivity.
  scores = scores.map((m) => ({ ...m, candidates: m.candidates.map((x) => ({ ...x, damage: (sensitivityAt(m, x.damage) ?? 1) * x.damage })) }));
  const pick = cheapest(scores, cost);
  const sum = (p: number[]) => p.reduce((s, k, i) => s + scores[i].candidates[k][cost], 0);
  const minimum = sum(pick);
  if (minimum > budget) return { pick: null, minimum };
  let used = minimum;
  const hulls = scores.map((m) => lowerHull(m.candidates, cost));
  // Each matrix's position on its hull (the cheapest candidate is the hull's first point).
  const pos = scores.map((m, i) => hulls[i].indexOf(pick[i]));
  const open = pos.map((p) => p >= 0);
  for (;;) {
    let best = -1, bestRatio = 0;
    for (let i = 0; i < scores.length; i++) {
      if (!open[i] || pos[i] + 1 >= hulls[i].length) continue;
      const a = scores[i].candidates[hulls[i][pos[i]]], b = scores[i].candidates[hulls[i][pos[i] + 1]];
      const ratio = (a.damage - b.damage) / Math.max(b[cost] - a[cost], 1e-9);
      if (ratio > bestRatio) { best = i; bestRatio = ratio; }
    }
    if (best < 0) break;
    const next = hulls[best][pos[best] + 1], step = scores[best].candidates[next][cost] - scores[best].candidates[pick[best]][cost];
    if (used + step > budget) { open[best] = false; continue; }
    used += step; pos[best]++; pick[best] = next;
  }
  // What is left: the best damage reduction per byte among all candidates that still fit.
  for (;;) {
    let best = -1, bestK = -1, bestRatio = 0;
    for (let i = 0; i < scores.length; i++) {
      const cur = scores[i].candidates[pick[i]];
      scores[i].candidates.forEach((x, k) => {
        const step = x[cost] - cur[cost], gain = cur.damage - x.damage;
        if (gain <= 0 || used + step > budget) return;
        const ratio = step <= 0 ? Infinity : gain / step;
        if (ratio > bestRatio) { best = i; bestK = k; bestRatio = ratio; }
      });
    }
    if (best < 0) break;
    used += scores[best].candidates[bestK][cost] - scores[best].candidates[pick[best]][cost];
    pick[best] = bestK;
  }
  return { pick, used, minimum, damage: pick.reduce((s, k, i) => s + scores[i].candidates[k].damage, 0) };
}

/** Calibration tokens the KL refinement measures on by default (self-generated, seed SENSITIVITY_SEED). */
export const SENSITIVITY_TOKENS = 2048;
const SENSITIVITY_SEED = 4321;

/**
 * About `tokens` tokens of text the float model writes itself (sequences from BOS, temperature
 * 1, top-p 0.9, a fixed seed other than the Hessians' calibration, so the KL is measured on
 * text the damage scores did not see).
 */
export function selfGeneratedStream(w: FloatWeights, tokens: number, seed = SENSITIVITY_SEED): number[] {
  const length = Math.min(CALIBRATION_LENGTH, w.config.seqLen), model = new FloatTransformer(w), out: number[] = [];
  const sampler = new Sampler({ temperature: 1, topp: 0.9, seed });
  const logits = new Float32Array(w.config.vocabSize);
  while (out.length < tokens) {
    let token = 1; // BOS
    for (let pos = 0; pos < length && out.length < tokens; pos++) {
      logits.set(model.forward(token, pos));
      token = sampler.sample(logits);
      out.push(token);
    }
  }
  return out;
}

/** The bit widths measureSensitivity probes at (each at its largest group size). */
export const PROBE_BITS = [2, 4] as const;

/**
 * The KL refinement: for every block matrix with a choice and each probe format (PROBE_BITS,
 * the largest group of each; else the cheapest low-bit candidate), ΔKL = KL(float ‖ the bundle
 * with only that matrix in the probe format) − KL(float ‖ the all-int8 bundle) over `stream`.
 * Both KL and damage are second order in ΔW, so ΔKL / damage is a per-matrix sensitivity that
 * turns damage into an estimate of its KL cost (sensitivityAt: interpolated between the
 * probes, which differ most at 2 bits): the allocation then minimizes the estimated Σ ΔKL
 * instead of Σ damage. Each bundle is quantized as the compile would (GPTQ on the same
 * Hessians with `gptq`) and its runtime.wasm runs in V8, as `edgeq eval` runs it (the float
 * reference computed once); 1 + 2 × (matrices with a choice) bundles.
 */
export async function measureSensitivity(w: FloatWeights, scores: readonly MatrixScores[], hessians: Hessians, stream: readonly number[], o: { gptq?: boolean; progress?: (done: number, total: number, what: string) => void } = {}): Promise<MatrixScores[]> {
  const ref = cachedReference(new FloatTransformer(w, { accumulate: 'float64' }));
  const seqLen = w.config.seqLen, g = { config: w.config };
  const kl = async (blocks: Record<string, unknown>): Promise<number> => {
    const plan = planFromJson({ edgeqPlan: 1, default: { bits: 8 }, blocks }, 'probe.json');
    const m = quantizeInt8(w, { plan, ...(o.gptq ? { gptq: { hessians } } : {}) });
    return teacherForced(stream, ref(), await wasmEngine(g, m, plan), { seqLen }).meanKL;
  };
  const base = await kl({});
  const out: MatrixScores[] = [];
  for (const [i, m] of scores.entries()) {
    const low = m.candidates.filter((x) => x.choice.format !== BASE_FORMAT.name);
    if (!low.length) { out.push(m); o.progress?.(i + 1, scores.length, `block ${m.block} ${m.name}: int8 only, nothing to choose`); continue; }
    const chosen = new Set(PROBE_BITS.map((b) => low.filter((x) => x.choice.bits === b).sort((a, c) => c.choice.groupSize - a.choice.groupSize)[0] ?? low[0]));
    const probes: NonNullable<MatrixScores['probes']> = [];
    for (const p of chosen) {
      const deltaKl = await kl({ [String(m.block)]: { matrices: { [m.name]: { format: p.choice.format, groupSize: p.choice.groupSize } } } }) - base;
      probes.push({ choice: p.choice, damage: p.damage, deltaKl });
    }
    out.push({ ...m, probes });
    o.progress?.(i + 1, scores.length, `block ${m.block} ${m.name}: ${probes.map((p) => `${label(p.choice)} damage ${p.damage.toPrecision(3)} ΔKL ${p.deltaKl.toPrecision(3)}`).join(', ')} (int8 bundle ${base.toPrecision(3)})`);
  }
  return out;
}

/** Block weights (every block matrix's rows × cols). */
export const blockWeightCount = (c: ModelConfig): number => c.nLayers * Object.values(blockShapes(c)).reduce((s, [r, k]) => s + r * k, 0);

/** The data-byte budget of `bpw` bits per block weight. */
export const bpwBudgetBytes = (c: ModelConfig, bpw: number): number => Math.floor((bpw * blockWeightCount(c)) / 8);

export interface MixedOptions extends EwqOptions {
  /** Budget in bits per block weight (data bytes; exclusive with budgetBytes). */
  bpw?: number;
  /** The scores were made with GPTQ (recorded; compile with --gptq). */
  gptq?: boolean;
  /** Calibration tokens the Hessians came from (recorded). */
  calibrationTokens?: number;
  /** Tokens the sensitivities were measured on (recorded, when the scores carry them). */
  klTokens?: number;
}

const fmt = (x: number) => x.toPrecision(4);

/**
 * The mixed plan of `scores` under o.bpw (bits per block weight) or o.budgetBytes (what
 * o.sizeOf counts: model.edgeq, or with edgeq plan's fit also the runtime); refused, with the
 * numbers, when even every matrix in its cheapest format does not fit.
 */
export function planMixed(c: ModelConfig, scores: readonly MatrixScores[], o: MixedOptions): EwqPlan {
  const bits = parseBitsList(o.bits ?? MIXED_DEFAULT_BITS);
  const W = blockWeightCount(c);
  if ((o.bpw === undefined) === (o.budgetBytes === undefined)) throw new EdgeqError('--method mixed needs one budget: --bpw <bits per block weight>, or --budget-bytes <n> (or --target with a flash size)', {}, 2);
  const gs = DEFAULT_GROUP_SIZE;
  const refined = scores.some((m) => sensitivityAt(m, 1) !== undefined);
  const method = (budget: string) => `mixed ${budget} bits=${bits.join(',')}${o.gptq ? ' gptq' : ''}${refined ? ` kl-tokens=${o.klTokens ?? 0}` : ''}`;
  const build = (pick: readonly number[], why: string): BlockPlan[] => Array.from({ length: c.nLayers }, (_, l) => {
    const mine = scores.map((m, i) => ({ m, cand: m.candidates[pick[i]] })).filter((x) => x.m.block === l);
    const matrices = mine.map(({ m, cand }) => {
      const sens = sensitivityAt(m, cand.damage);
      const probes = m.probes?.length ? ` (probes: ${m.probes.map((p) => `${label(p.choice)} ΔKL ${fmt(p.deltaKl)}`).join(', ')})` : '';
      return {
      name: m.name, rows: m.rows, cols: m.cols, entropy: NaN, damage: cand.damage,
      ...(sens !== undefined ? { sensitivity: sens } : {}),
      choice: { ...cand.choice, rule: `${label(cand.choice)}: damage ${fmt(cand.damage)}${sens !== undefined ? ` × ${fmt(sens)} nats per unit damage${probes} = est. ΔKL ${fmt(sens * cand.damage)}` : ''} (${why})` },
      bytes: cand.alignedBytes, tensors: formatNamed(cand.choice.format)!.tensors(m.rows, m.cols, cand.choice.groupSize).length,
      };
    });
    const widest = Math.max(...matrices.map((m) => m.choice.bits)) as PlanBits;
    const summary = matrices.map((m) => `${m.name} ${label(m.choice)}`).join(', ');
    return { block: l, entropy: NaN, bits: widest, rule: `mixed: ${summary}`, bytes: matrices.reduce((s, m) => s + m.bytes, 0), matrices };
  });
  const summary = (pick: readonly number[], bpwBudget?: number) => ({
    gptq: !!o.gptq, calibrationTokens: o.calibrationTokens ?? 0,
    damage: pick.reduce((s, k, i) => s + scores[i].candidates[k].damage, 0),
    ...(refined ? { klTokens: o.klTokens ?? 0, klEstimate: pick.reduce((s, k, i) => s + (sensitivityAt(scores[i], scores[i].candidates[k].damage) ?? 0) * scores[i].candidates[k].damage, 0) } : {}),
    blockBpw: (8 * pick.reduce((s, k, i) => s + scores[i].candidates[k].dataBytes, 0)) / W,
    ...(bpwBudget !== undefined ? { bpwBudget } : {}),
  });
  const base = { bits, k: NaN, groupSize: gs, mean: NaN, std: NaN };
  if (o.bpw !== undefined) {
    if (!(o.bpw > 0) || !Number.isFinite(o.bpw)) throw new EdgeqError(`--bpw must be a number > 0, got ${o.bpw}`, {}, 2);
    const budget = bpwBudgetBytes(c, o.bpw);
    const a = allocate(scores, budget, 'dataBytes');
    if (!a.pick) {
      throw new EdgeqError(`--bpw ${o.bpw} is below what the block matrices need: ${fmt((8 * a.minimum) / W)} bits per block weight with every matrix in its smallest format of --bits ${bits.join(',')} (${a.minimum} bytes of block-matrix data for ${W} weights; --bpw ${o.bpw} allows ${budget})`);
    }
    const why = `greedy damage reduction per byte, ${a.used} of ${budget} block bytes (--bpw ${o.bpw})`;
    const blocks = build(a.pick, why);
    return finish(c, { ...base, method: method(`bpw=${o.bpw}`), blocks, mixed: summary(a.pick, o.bpw) }, { ...o, budgetBytes: undefined });
  }
  // A device byte budget: the block matrices get what the rest of the bundle leaves, measured
  // on the cheapest plan and corrected by any overshoot of the measured result.
  const budget = o.budgetBytes!, sizeOf = o.sizeOf ?? artifactSizer(c, o), what = o.budgetName ?? `${budget} bytes`;
  const blockBytes = (blocks: BlockPlan[]) => blocks.reduce((s, b) => s + b.bytes, 0);
  const size = (blocks: BlockPlan[]) => sizeOf(specOfBlocks({ ...base, method: method(`budget=${budget}`), blocks }, o.planName));
  const low = build(cheapest(scores, 'alignedBytes'), 'cheapest');
  let matrixBudget = budget - (size(low) - blockBytes(low));
  for (let attempt = 0; attempt < 6; attempt++) {
    const a = allocate(scores, matrixBudget, 'alignedBytes');
    if (!a.pick) {
      const need = size(low);
      throw new EdgeqError(`the model does not fit ${what}: it needs ${need} bytes with every block matrix in its smallest format of --bits ${bits.join(',')} (block matrices ${blockBytes(low)} bytes), budget ${budget} bytes, ${need - budget} bytes over`);
    }
    const blocks = build(a.pick, `greedy damage reduction per byte, block matrices ${a.used} of ${matrixBudget} bytes left by ${what}`);
    const used = size(blocks);
    if (used <= budget) return finish(c, { ...base, method: method(`budget=${budget}`), blocks, mixed: summary(a.pick) }, o, used);
    matrixBudget -= used - budget;
  }
  throw new Error(`internal: the mixed plan's byte fit did not converge (budget ${budget})`);
}
