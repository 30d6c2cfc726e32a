// FastEWQ: the EWQ decision of a block (low / mid / high precision) predicted from the model's
// configuration alone — no weights are read. A small CART decision tree over six features
// (block index, relative position idx/(L−1), parameters of the block, number of blocks, dim,
// hidden), trained by scripts/train-fastewq.ts on full-EWQ decisions (k·σ rule, softmax
// entropy) of the two real checkpoints and many synthetic ones (compiler/synth); the tree is
// shipped as data in fastewq-model.json. Agreement with full EWQ: README.md (FastEWQ).
import { readFileSync } from 'node:fs';
import type { ModelConfig } from '../import/graph.ts';
import { kvDim } from '../import/graph.ts';
import { EdgeqError } from '../util/errors.ts';
import { DEFAULT_EWQ_BITS, ewqPlanJson, parseBitsList, planFittedInOrder, planWithBits, shapeOnlyBlocks, type EwqOptions, type EwqPlan } from './ewq.ts';
import { DEFAULT_GROUP_SIZE, planFromJson, type PlanBits, type PlanSpec } from './plan.ts';

export const FASTEWQ_FEATURES = ['block', 'rel', 'blockParams', 'nLayers', 'dim', 'hidden'] as const;
export type FastEwqClass = 'low' | 'mid' | 'high';
export const FASTEWQ_CLASSES: readonly FastEwqClass[] = ['low', 'mid', 'high'];

/** A tree node: a split on features[f] <= t (left) / > t (right), or a leaf with class counts. */
export type TreeNode =
  | { f: number; t: number; l: TreeNode; r: TreeNode }
  | { counts: [number, number, number] };

export interface FastEwqModel {
  fastEwqModel: 1;
  comment?: string;
  features: string[];
  classes: string[];
  /** What the labels are: the EWQ options they were computed with. */
  labels: { bits: number[]; k: number; entropy: string };
  tree: TreeNode;
  training?: Record<string, unknown>;
}

/** Parameters of one block's 7 matrices. */
export const blockParams = (c: ModelConfig): number => 2 * c.dim * c.dim + 2 * kvDim(c) * c.dim + 3 * c.dim * c.hiddenDim;

/** The feature vector of block `l` of a model with config `c`. */
export function blockFeatures(c: ModelConfig, l: number): number[] {
  return [l, c.nLayers > 1 ? l / (c.nLayers - 1) : 0, blockParams(c), c.nLayers, c.dim, c.hiddenDim];
}

const argmax = (c: readonly number[]) => { let b = 1; for (const i of [0, 2]) if (c[i] > c[b]) b = i; return b; }; // ties: mid

/** The leaf a feature vector reaches. */
export function leafOf(tree: TreeNode, x: readonly number[]): { counts: [number, number, number] } {
  let n = tree;
  while (!('counts' in n)) n = x[n.f] <= n.t ? n.l : n.r;
  return n;
}

/** The predicted class index (0 low, 1 mid, 2 high) of a feature vector. */
export const predictClass = (tree: TreeNode, x: readonly number[]): number => argmax(leafOf(tree, x).counts);

let shipped: FastEwqModel | undefined;
/** The shipped model (compiler/plan/fastewq-model.json). */
export function loadFastEwqModel(path = new URL('./fastewq-model.json', import.meta.url)): FastEwqModel {
  if (shipped && typeof path !== 'string') return shipped;
  const m = JSON.parse(readFileSync(path, 'utf8')) as FastEwqModel;
  if (m.fastEwqModel !== 1 || !m.tree || m.features.join() !== FASTEWQ_FEATURES.join()) throw new EdgeqError(`FastEWQ model ${String(path)}: not a version-1 model over features ${FASTEWQ_FEATURES.join(', ')}`);
  if (typeof path !== 'string') shipped = m;
  return m;
}

/** Per-block predicted classes for a model configuration. */
export function predictBlocks(c: ModelConfig, model: FastEwqModel = loadFastEwqModel()): Array<{ block: number; cls: FastEwqClass; counts: [number, number, number] }> {
  return Array.from({ length: c.nLayers }, (_, l) => {
    const leaf = leafOf(model.tree, blockFeatures(c, l));
    return { block: l, cls: FASTEWQ_CLASSES[argmax(leaf.counts)], counts: leaf.counts };
  });
}

/** Path of the decision, for the plan's rule text. */
export function explain(tree: TreeNode, x: readonly number[]): string {
  const parts: string[] = [];
  let n = tree;
  while (!('counts' in n)) {
    const left = x[n.f] <= n.t;
    parts.push(`${FASTEWQ_FEATURES[n.f]}=${+x[n.f].toFixed(4)} ${left ? '≤' : '>'} ${+n.t.toFixed(4)}`);
    n = left ? n.l : n.r;
  }
  return `${parts.join(', ')} → leaf low/mid/high ${n.counts.join('/')}`;
}

// ---- training (scripts/train-fastewq.ts, test/fastewq.test.ts) ----

export interface Sample { x: number[]; y: number }

const gini = (c: readonly number[], n: number) => (n === 0 ? 0 : 1 - c.reduce((s, v) => s + (v / n) ** 2, 0));

/** Deterministic CART (Gini): splits at midpoints of distinct values; ties keep the first feature/threshold. */
export function trainTree(data: readonly Sample[], maxDepth: number, minLeaf: number): TreeNode {
  const counts = (d: readonly Sample[]) => { const c: [number, number, number] = [0, 0, 0]; for (const s of d) c[s.y]++; return c; };
  const grow = (d: readonly Sample[], depth: number): TreeNode => {
    const c = counts(d);
    if (depth >= maxDepth || d.length < 2 * minLeaf || c.filter((v) => v > 0).length <= 1) return { counts: c };
    const parent = gini(c, d.length);
    let best: { f: number; t: number; gain: number } | undefined;
    for (let f = 0; f < FASTEWQ_FEATURES.length; f++) {
      const sorted = [...d].sort((a, b) => a.x[f] - b.x[f]);
      const left: [number, number, number] = [0, 0, 0], right = [...c] as [number, number, number];
      for (let i = 0; i < sorted.length - 1; i++) {
        left[sorted[i].y]++; right[sorted[i].y]--;
        const a = sorted[i].x[f], b = sorted[i + 1].x[f];
        if (a === b || i + 1 < minLeaf || sorted.length - i - 1 < minLeaf) continue;
        const nl = i + 1, nr = sorted.length - nl;
        const gain = parent - (nl * gini(left, nl) + nr * gini(right, nr)) / sorted.length;
        if (gain > 1e-12 && (!best || gain > best.gain + 1e-12)) best = { f, t: Number(((a + b) / 2).toPrecision(10)), gain };
      }
    }
    if (!best) return { counts: c };
    const l = d.filter((s) => s.x[best!.f] <= best!.t), r = d.filter((s) => s.x[best!.f] > best!.t);
    const ln = grow(l, depth + 1), rn = grow(r, depth + 1);
    // Merge a split whose two sides predict the same class (smaller model, same predictions).
    if ('counts' in ln && 'counts' in rn && argmax(ln.counts) === argmax(rn.counts)) return { counts: c };
    return { f: best.f, t: best.t, l: ln, r: rn };
  };
  return grow(data, 0);
}

// ---- plans ----

export type FastEwqOptions = Omit<EwqOptions, 'entropies' | 'k'>;

/**
 * FastEWQ's ranking of the blocks, least damage first: by predicted class (low, mid, high),
 * then by the leaf's share of "low" labels (more first), then by its share of "high" labels
 * (fewer first), then by index. With a budget, blocks are lowered in this order.
 */
export function fastEwqOrder(c: ModelConfig, model: FastEwqModel = loadFastEwqModel()): number[] {
  const p = Array.from({ length: c.nLayers }, (_, l) => {
    const counts = leafOf(model.tree, blockFeatures(c, l)).counts, n = Math.max(1, counts[0] + counts[1] + counts[2]);
    return { l, y: argmax(counts), low: counts[0] / n, high: counts[2] / n };
  });
  return p.sort((a, b) => a.y - b.y || b.low - a.low || a.high - b.high || a.l - b.l).map((x) => x.l);
}

/**
 * The FastEWQ plan of a configuration: class low/mid/high → lowest/middle/highest of --bits;
 * with o.budgetBytes, the budget fit over fastEwqOrder instead.
 */
export function planFastEwq(c: ModelConfig, o: FastEwqOptions = {}, model: FastEwqModel = loadFastEwqModel()): EwqPlan {
  const bits = parseBitsList(o.bits ?? DEFAULT_EWQ_BITS);
  const method = o.budgetBytes === undefined
    ? `fastewq bits=${bits.join(',')} group=${o.groupSize ?? DEFAULT_GROUP_SIZE}`
    : `fastewq budget=${o.budgetBytes} bits=${bits.join(',')} group=${o.groupSize ?? DEFAULT_GROUP_SIZE}`;
  if (o.budgetBytes !== undefined) {
    const order = fastEwqOrder(c, model), L = c.nLayers;
    return planFittedInOrder(c, shapeOnlyBlocks(c), order, { ...o, bits, method }, (b, rank) => {
      const x = blockFeatures(c, b.block);
      const how = b.bits === bits[0] ? `kept at ${b.bits} bits` : `lowered ${bits[0]} → ${b.bits} bits to fit`;
      return `budget ${o.budgetBytes} bytes: FastEWQ rank ${rank}/${L} (least damage first; ${explain(model.tree, x)}) ${how}`;
    });
  }
  const byClass = [bits[bits.length - 1], bits[Math.floor(bits.length / 2)], bits[0]];
  const choices = Array.from({ length: c.nLayers }, (_, l) => {
    const x = blockFeatures(c, l), y = predictClass(model.tree, x);
    return { bits: byClass[y], rule: `FastEWQ ${FASTEWQ_CLASSES[y]} → ${byClass[y]} bits (${explain(model.tree, x)})` };
  });
  return planWithBits(c, choices, { ...o, bits, method });
}

/** A FastEWQ plan as the quantizer's PlanSpec (for `edgeq compile --plan fastewq`). */
export function fastEwqPlanSpec(c: ModelConfig, o: FastEwqOptions = {}, name = 'fastewq'): PlanSpec {
  return planFromJson(ewqPlanJson(planFastEwq(c, o)), name);
}
