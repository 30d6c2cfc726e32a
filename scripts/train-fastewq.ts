// Trains FastEWQ (compiler/plan/fastewq.ts) and writes compiler/plan/fastewq-model.json
// (`npm run train:fastewq`; deterministic: same code, same file).
//
// Labels: the full-EWQ decision of every block (softmax block entropy, k = 0.5, bits 8,4,2:
// low / mid / high) on
//   - the two real checkpoints (../shared/models or $EDGEQ_MODELS: stories260K, babyllama936K),
//   - synthetic checkpoints (compiler/synth: per-layer trends like trained models) of many
//     shapes and seeds.
// Split: synthetic shapes are divided into train and held-out shapes, seeds into train and
// held-out seeds; the tree is trained on (train shapes × train seeds) + the real models and
// evaluated on held-out shapes × held-out seeds, train shapes × held-out seeds, and (with a
// tree trained without them) the real models. The agreement numbers are written into the
// model file's "training" record and printed.
//   --check   recompute and compare with the shipped file instead of writing it (exit 1 if stale)
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ModelConfig } from '../compiler/import/graph.ts';
import { blockTensor } from '../compiler/import/graph.ts';
import { openModel } from '../compiler/import/open-model.ts';
import { modelEntropies, SoftmaxEntropy } from '../compiler/plan/entropy.ts';
import { BLOCK_MATRICES } from '../compiler/plan/plan.ts';
import { synthTensorChunks } from '../compiler/synth/weights.ts';
import { SHAPES } from '../compiler/synth/shapes.ts';
import {
  FASTEWQ_CLASSES, FASTEWQ_FEATURES, blockFeatures, predictClass, trainTree, type FastEwqModel, type Sample, type TreeNode,
} from '../compiler/plan/fastewq.ts';
import { writeFileAtomic } from '../compiler/util/atomic-write.ts';

const ROOT = resolve(import.meta.dirname, '..');
const OUT = join(ROOT, 'compiler/plan/fastewq-model.json');
const K = 0.5, MAX_DEPTH = Number(process.env.FASTEWQ_DEPTH ?? 3), MIN_LEAF = 4;
const check = process.argv.includes('--check');
const models = process.env.EDGEQ_MODELS ?? resolve(ROOT, '../shared/models');

const cfg = (dim: number, hiddenDim: number, nLayers: number, nHeads: number, nKvHeads: number): ModelConfig =>
  ({ dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize: 64, seqLen: 64, sharedClassifier: true });
// Synthetic shapes (block matrices only matter): the small named shapes and a grid of others.
const TRAIN_SHAPES: Array<[string, ModelConfig]> = [
  ['stories260K', { ...SHAPES.stories260K }], ['babyllama936K', { ...SHAPES.babyllama936K }],
  ['d64-L3', cfg(64, 172, 3, 8, 4)], ['d64-L8', cfg(64, 172, 8, 8, 4)], ['d96-L4', cfg(96, 256, 4, 6, 6)],
  ['d96-L10', cfg(96, 256, 10, 6, 3)], ['d128-L6', cfg(128, 352, 6, 8, 4)], ['d128-L12', cfg(128, 344, 12, 8, 8)],
  ['d160-L7', cfg(160, 432, 7, 10, 5)], ['d192-L5', cfg(192, 512, 5, 6, 6)], ['d192-L9', cfg(192, 512, 9, 6, 2)],
  ['d256-L4', cfg(256, 688, 4, 8, 8)], ['d256-L6', cfg(256, 688, 6, 8, 4)],
];
const HELD_SHAPES: Array<[string, ModelConfig]> = [
  ['d80-L6', cfg(80, 216, 6, 5, 5)], ['d112-L9', cfg(112, 304, 9, 7, 7)], ['d144-L5', cfg(144, 384, 5, 6, 3)],
  ['d224-L8', cfg(224, 600, 8, 7, 7)], ['d64-L12', cfg(64, 176, 12, 4, 4)], ['d288-L6', { ...SHAPES.stories15M, vocabSize: 64 }],
];
const TRAIN_SEEDS = [1, 2, 3, 4, 5, 6];
const HELD_SEEDS = [101, 102, 103];

/** The k·σ rule of compiler/plan/ewq.ts on block entropies: 0 low, 1 mid, 2 high. */
function ewqLabels(ents: number[]): number[] {
  const mean = ents.reduce((s, e) => s + e, 0) / ents.length;
  const std = Math.sqrt(ents.reduce((s, e) => s + (e - mean) ** 2, 0) / ents.length);
  return ents.map((e) => (e < mean - K * std ? 0 : e > mean + K * std ? 2 : 1));
}

/** Block softmax entropies of a synthetic model (what modelEntropies gives on its file). */
function synthEntropies(c: ModelConfig, seed: number): number[] {
  return Array.from({ length: c.nLayers }, (_, l) => {
    let p = 0, h = 0;
    for (const m of BLOCK_MATRICES) {
      const acc = new SoftmaxEntropy();
      for (const chunk of synthTensorChunks(c, seed, blockTensor(l, m))) acc.add(chunk);
      p += acc.n; h += acc.n * acc.value();
    }
    return h / p;
  });
}

const samples = (c: ModelConfig, labels: number[]): Sample[] => labels.map((y, l) => ({ x: blockFeatures(c, l), y }));
const synth = (shapes: Array<[string, ModelConfig]>, seeds: number[]) =>
  shapes.flatMap(([, c]) => seeds.flatMap((s) => samples(c, ewqLabels(synthEntropies(c, s)))));

const t0 = Date.now();
const real: Array<[string, Sample[]]> = [];
for (const name of ['stories260K', 'babyllama936K']) {
  const p = join(models, `${name}.bin`);
  if (!existsSync(p)) { console.error(`train-fastewq: ${p} not found: the shipped model was trained with it; cannot reproduce`); process.exit(1); }
  const g = openModel(p);
  real.push([name, samples(g.config, ewqLabels(modelEntropies(g).map((b) => b.entropy)))]);
}
const train = synth(TRAIN_SHAPES, TRAIN_SEEDS);
const heldSeeds = synth(TRAIN_SHAPES, HELD_SEEDS);
const heldBoth = synth(HELD_SHAPES, HELD_SEEDS);
const heldShapesTrainSeeds = synth(HELD_SHAPES, TRAIN_SEEDS);
const realAll = real.flatMap(([, s]) => s);

const acc = (tree: TreeNode, d: Sample[]) => d.filter((s) => predictClass(tree, s.x) === s.y).length / Math.max(1, d.length);
const confusion = (tree: TreeNode, d: Sample[]) => {
  const m = [[0, 0, 0], [0, 0, 0], [0, 0, 0]];
  for (const s of d) m[s.y][predictClass(tree, s.x)]++;
  return m;
};
const dist = (d: Sample[]) => [0, 1, 2].map((c) => d.filter((s) => s.y === c).length);
const r4 = (x: number) => Math.round(x * 1e4) / 1e4;

const tree = trainTree([...train, ...realAll], MAX_DEPTH, MIN_LEAF);
const treeNoReal = trainTree(train, MAX_DEPTH, MIN_LEAF);
// Baseline: always the majority class of the training labels.
const majority = dist([...train, ...realAll]).reduce((b, v, i, a) => (v > a[b] ? i : b), 0);
const baseline = (d: Sample[]) => d.filter((s) => s.y === majority).length / Math.max(1, d.length);

// Ceiling for any config-only predictor on the train shapes: per (shape, block), the majority
// label over the train seeds, scored on the held-out seeds (labels that vary with the seed
// cannot be predicted from the configuration).
const byKey = new Map<string, number[]>();
for (const s of train) { const k = s.x.join(); const c = byKey.get(k) ?? [0, 0, 0]; c[s.y]++; byKey.set(k, c); }
const ceiling = heldSeeds.filter((s) => { const c = byKey.get(s.x.join())!; const m = c.reduce((b, v, i) => (v > c[b] ? i : b), 1); return m === s.y; }).length / heldSeeds.length;
const training = {
  k: K, maxDepth: MAX_DEPTH, minLeaf: MIN_LEAF,
  trainShapes: TRAIN_SHAPES.map(([n]) => n), trainSeeds: TRAIN_SEEDS, heldOutShapes: HELD_SHAPES.map(([n]) => n), heldOutSeeds: HELD_SEEDS,
  realModels: real.map(([n]) => n),
  samples: { train: train.length + realAll.length, labelsLowMidHigh: dist([...train, ...realAll]) },
  agreement: {
    trainingSet: r4(acc(tree, [...train, ...realAll])),
    heldOutSeeds_trainShapes: r4(acc(tree, heldSeeds)),
    heldOutShapes_heldOutSeeds: r4(acc(tree, heldBoth)),
    heldOutShapes_trainSeeds: r4(acc(tree, heldShapesTrainSeeds)),
    realModels_treeTrainedWithoutThem: Object.fromEntries(real.map(([n, s]) => [n, r4(acc(treeNoReal, s))])),
    realModels_inTraining: Object.fromEntries(real.map(([n, s]) => [n, r4(acc(tree, s))])),
    majorityClassBaseline_heldOutShapes_heldOutSeeds: r4(baseline(heldBoth)),
    configOnlyCeiling_heldOutSeeds_trainShapes: r4(ceiling),
  },
  confusionHeldOutShapesSeeds_rowsTrue_colsPredicted_lowMidHigh: confusion(tree, heldBoth),
  realLabels: Object.fromEntries(real.map(([n, s]) => [n, s.map((x) => FASTEWQ_CLASSES[x.y]).join(',')])),
  realPredicted: Object.fromEntries(real.map(([n, s]) => [n, s.map((x) => FASTEWQ_CLASSES[predictClass(tree, x.x)]).join(',')])),
};
const model: FastEwqModel = {
  fastEwqModel: 1,
  comment: 'FastEWQ decision tree (compiler/plan/fastewq.ts), written by scripts/train-fastewq.ts (npm run train:fastewq); do not edit',
  features: [...FASTEWQ_FEATURES], classes: [...FASTEWQ_CLASSES],
  labels: { bits: [8, 4, 2], k: K, entropy: 'softmax (nats), parameter-weighted block mean' },
  tree, training,
};
const text = JSON.stringify(model, null, 1) + '\n';
console.error(`train-fastewq: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
console.log(JSON.stringify(training.agreement, null, 2));
console.log('confusion (held-out shapes × seeds; rows true, cols predicted, low/mid/high):', JSON.stringify(training.confusionHeldOutShapesSeeds_rowsTrue_colsPredicted_lowMidHigh));
console.log('real labels   ', JSON.stringify(training.realLabels));
console.log('real predicted', JSON.stringify(training.realPredicted));
if (check) {
  const cur = existsSync(OUT) ? readFileSync(OUT, 'utf8') : '';
  if (cur !== text) { console.error(`train-fastewq --check: ${OUT} is stale (run npm run train:fastewq)`); process.exit(1); }
  console.log('train-fastewq --check: the shipped model is what the script produces');
} else {
  writeFileAtomic(OUT, text);
  console.log(`wrote ${OUT}`);
}
