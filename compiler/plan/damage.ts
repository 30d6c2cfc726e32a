// Measured damage planner (issue 6): rank the blocks by what lowering each one actually costs.
//
// The 20,000-token measurement (scripts/eval-ewq.ts, README "EWQ against uniform at equal
// size") found EWQ's softmax-entropy ranking to be noise on these models, and a direct
// measure to pick the best or tied-best mixes: the damage of block l is
//   ΔKL_l = KL(float ‖ plan with block l at `lo`, every other block at `hi`)
//         − KL(float ‖ every block at `hi`)
// (mean KL per token, nats, teacher-forced on calibration tokens the evaluation never sees;
// compiler/eval/teacher-forced.ts), each plan run as `edgeq eval` runs it: its bundle built
// in process, runtime.wasm in V8. L + 1 bundles per measurement.
//
// `edgeq plan --method damage` measures with hi = the highest and lo = the lowest of --bits
// (the largest step gives the clearest signal over the calibration noise; the eval's 4→3,
// 4→2 and 8→4 rankings agree on the least- and most-damaged blocks) and then
//   - with a budget: the EWQ greedy fit (ewq.ts greedyLevels) over the blocks in ascending
//     ΔKL order (least damage lowered first);
//   - without: EWQ's k·σ rule on the ΔKL values, μ, σ their mean and population std:
//       ΔKL < μ − k·σ → lowest of --bits; ΔKL > μ + k·σ → highest; otherwise the middle.
// Deterministic: the quantizer, runtime and float reference are; same inputs, same ΔKL.
import { createHash } from 'node:crypto';
import type { FloatWeights, Graph } from '../import/graph.ts';
import type { TextTokenizer as Tokenizer } from '../import/tokenizers/text-tokenizer.ts';
import { quantizeInt8 } from '../quantize/int8.ts';
import type { QuantModel } from '../quantize/quant-model.ts';
import { teacherForced, type LogitsEngine } from '../eval/teacher-forced.ts';
import { encodeParagraphs, readUtf8 } from '../eval/text-stream.ts';
import { bundleFromQuant } from '../bundle.ts';
import { WasmRuntime } from '../engines/wasm-runtime.ts';
import { runtimeLogitsEngine } from '../engines/bundle.ts';
import { loadTarget } from '../target/profile.ts';
import { FloatTransformer } from '../reference/float/forward.ts';
import { EdgeqError } from '../util/errors.ts';
import { DEFAULT_GROUP_SIZE, parsePlan, planFromJson, type PlanBits, type PlanSpec } from './plan.ts';
import {
  DEFAULT_EWQ_BITS, DEFAULT_EWQ_K, parseBitsList, planFittedInOrder, planWithBits, shapeOnlyBlocks, type EwqOptions, type EwqPlan,
} from './ewq.ts';

export const DEFAULT_CALIBRATION_TOKENS = 2000;

/** Block indices sorted by ascending score (ties: lower index first). */
export const ascending = (v: readonly number[]): number[] => v.map((x, i) => i).sort((i, j) => v[i] - v[j] || i - j);

const choice = (b: number, g: number) => (b === 8 ? { bits: 8 } : { bits: b, groupSize: g });

/** The plan with per-block `bits` (uniform bits: the uniform plan), as the compile would read it. */
export function bitsSpec(bits: readonly number[], groupSize = DEFAULT_GROUP_SIZE): PlanSpec {
  if (bits.every((b) => b === bits[0])) return parsePlan(bits[0] === 8 ? 'uniform:8' : `uniform:${bits[0]}g${groupSize}`);
  const j = { edgeqPlan: 1, default: choice(bits[0], groupSize), blocks: Object.fromEntries(bits.map((b, i) => [String(i), choice(b, groupSize)])) };
  const t = JSON.stringify(j, null, 2) + '\n';
  return { ...planFromJson(j, 'plan.json'), sha256: createHash('sha256').update(t).digest('hex') };
}

/** A float reference computed once over a stream; each call replays it from the start. */
export function cachedReference(inner: LogitsEngine): () => LogitsEngine {
  const cache: Float64Array[] = [];
  return () => {
    let i = 0;
    return { forward: (token, pos) => { if (i === cache.length) cache.push(Float64Array.from(inner.forward(token, pos))); return cache[i++]; } };
  };
}

/** The quantized engine: the plan's runtime.wasm (target wasm32) in V8, what `edgeq eval` runs. */
export async function wasmEngine(g: { config: Graph['config']; source?: Graph['source'] }, m: QuantModel, plan: PlanSpec): Promise<LogitsEngine> {
  const b = await bundleFromQuant({ model: m, target: loadTarget('wasm32'), plan, planName: 'plan.json', sourceSha256: new Uint8Array(32), sourcePath: g.source?.path ?? 'model.bin', vectors: 0 });
  return runtimeLogitsEngine(await WasmRuntime.create(b.files['runtime.wasm'], b.files['model.edgeq'], g.config.vocabSize, 'plan.json'));
}

/** Mean KL (float ‖ plan) of per-block bit plans on one token stream; the float reference is computed once. */
export class KlMeter {
  private readonly ref: () => LogitsEngine;
  constructor(readonly g: Graph, readonly weights: FloatWeights, readonly stream: readonly number[]) {
    this.ref = cachedReference(new FloatTransformer(weights, { accumulate: 'float64' }));
  }
  async kl(bits: readonly number[], groupSize = DEFAULT_GROUP_SIZE): Promise<number> {
    const plan = bitsSpec(bits, groupSize), m = quantizeInt8(this.weights, { plan });
    return teacherForced(this.stream, this.ref(), await wasmEngine(this.g, m, plan), { seqLen: this.g.config.seqLen }).meanKL;
  }
}

export interface DamageMeasure {
  /** Bits of every block but the measured one, and of the measured one. */
  hi: number; lo: number; groupSize: number;
  calibrationTokens: number;
  /** KL (nats per token) with every block at hi. */
  baseKl: number;
  /** ΔKL per block (may be slightly negative: measurement noise). */
  deltaKl: number[];
}

/** ΔKL of every block lowered alone hi → lo (L + 1 bundles); progress(done, total, what) after each. */
export async function measureDamage(meter: KlMeter, hi: number, lo: number, o: { groupSize?: number; progress?: (done: number, total: number, what: string) => void } = {}): Promise<DamageMeasure> {
  const L = meter.g.config.nLayers, gs = o.groupSize ?? DEFAULT_GROUP_SIZE, say = o.progress ?? (() => {});
  const baseKl = await meter.kl(Array(L).fill(hi), gs);
  say(1, L + 1, `every block at ${hi} bits: KL ${baseKl.toFixed(6)}`);
  const deltaKl: number[] = [];
  for (let l = 0; l < L; l++) {
    deltaKl.push(await meter.kl(Array.from({ length: L }, (_, i) => (i === l ? lo : hi)), gs) - baseKl);
    say(l + 2, L + 1, `block ${l} at ${lo} bits: ΔKL ${deltaKl[l].toFixed(6)}`);
  }
  return { hi, lo, groupSize: gs, calibrationTokens: meter.stream.length, baseKl, deltaKl };
}

/**
 * Tokens skip … skip+n−1 of a calibration text (paragraphs encoded as edgeq eval does: the
 * first `skip` tokens can be the evaluated ones, so one file serves both); refuses a text too short.
 */
export function calibrationTokens(tokenizer: Tokenizer, path: string, n: number, skip = 0): number[] {
  const s = encodeParagraphs(tokenizer, readUtf8(path), skip + n);
  if (s.tokens.length < skip + n) {
    throw new EdgeqError(`calibration text too short: ${s.tokens.length} tokens (${s.paragraphs} paragraphs${s.skipped ? `, ${s.skipped} skipped: not encodable` : ''}) with this tokenizer, --calibration-tokens asks for ${n}${skip ? ` after --calibration-skip ${skip}` : ''}; give a longer text or fewer tokens`, { file: path });
  }
  return s.tokens.slice(skip);
}

export type DamageOptions = Omit<EwqOptions, 'entropies'>;

const f6 = (x: number) => x.toFixed(6);

/**
 * The damage plan: with o.budgetBytes, the EWQ greedy fit in ascending ΔKL order; else the
 * k·σ rule on ΔKL. Blocks carry deltaKl; the plan carries the measurement.
 */
export function planDamage(g: Graph, d: DamageMeasure, o: DamageOptions = {}): EwqPlan {
  const c = g.config, L = c.nLayers;
  if (d.deltaKl.length !== L) throw new Error(`internal: ${d.deltaKl.length} damage values for ${L} blocks`);
  const bits = parseBitsList(o.bits ?? DEFAULT_EWQ_BITS);
  const k = o.k ?? DEFAULT_EWQ_K;
  if (!(k >= 0) || !Number.isFinite(k)) throw new EdgeqError(`--k must be a finite number >= 0, got ${k}`, {}, 2);
  const gs = o.groupSize ?? DEFAULT_GROUP_SIZE;
  const hi = bits[0], lo = bits[bits.length - 1], mid = bits[Math.floor(bits.length / 2)];
  const mean = d.deltaKl.reduce((s, x) => s + x, 0) / L;
  const std = Math.sqrt(d.deltaKl.reduce((s, x) => s + (x - mean) ** 2, 0) / L);
  const measured = `${d.hi}→${d.lo} bits on ${d.calibrationTokens} calibration tokens`;
  const oo = { sourcePath: g.source?.path, ...o, bits };
  let p: EwqPlan;
  if (o.budgetBytes !== undefined) {
    const order = ascending(d.deltaKl);
    const method = `damage calibration=${d.calibrationTokens} budget=${o.budgetBytes} bits=${bits.join(',')} group=${gs}`;
    p = planFittedInOrder(c, shapeOnlyBlocks(c), order, { ...oo, method }, (b, rank) =>
      `budget ${o.budgetBytes} bytes: damage ΔKL=${f6(d.deltaKl[b.block])} (${measured}; rank ${rank}/${L}, least damage first) ${b.bits === hi ? `kept at ${hi} bits` : `lowered ${hi} → ${b.bits} bits to fit`}`);
  } else {
    const a = mean - k * std, b = mean + k * std;
    const choices = d.deltaKl.map((x) => {
      const D = f6(x);
      if (x < a) return { bits: lo, rule: `damage ΔKL=${D} < mean−${k}·std=${f6(a)} → ${lo} bits (${measured})` };
      if (x > b) return { bits: hi, rule: `damage ΔKL=${D} > mean+${k}·std=${f6(b)} → ${hi} bits (${measured})` };
      return { bits: mid, rule: `damage mean−${k}·std=${f6(a)} ≤ ΔKL=${D} ≤ mean+${k}·std=${f6(b)} → ${mid} bits (${measured})` };
    });
    p = planWithBits(c, choices, { ...oo, method: `damage calibration=${d.calibrationTokens} k=${k} bits=${bits.join(',')} group=${gs}` });
  }
  return {
    ...p, k,
    blocks: p.blocks.map((b) => ({ ...b, deltaKl: d.deltaKl[b.block] })),
    damage: { hi: d.hi, lo: d.lo, calibrationTokens: d.calibrationTokens, baseKl: d.baseKl, mean, std },
  };
}

/** The bits a damage measurement compares for --bits: the highest and the lowest. */
export function damageSteps(bits: readonly PlanBits[]): { hi: PlanBits; lo: PlanBits } {
  const b = parseBitsList(bits);
  if (b.length < 2) throw new EdgeqError(`--method damage: --bits ${b.join(',')} has one width, nothing to choose between; give at least two (e.g. 8,4,2)`, {}, 2);
  return { hi: b[0], lo: b[b.length - 1] };
}
