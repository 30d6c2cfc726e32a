// Fine-tuning measurement (issue 7): trains each requested trainer through the Trainer
// interface on the same windows with the same hyper-parameters, and reports the held-out
// mean loss before and after, and the ratio of loss reductions integer / float.
// Usage:
//   npm run eval:finetune -- [--model m.bin] [--tokenizer tok.bin] [--data out/style-data]
//     [--train f.txt] [--heldout f.txt] [--trainers float,int] [--steps 300] [--seq-len 32]
//     [--rank 8] [--lr 0.02] [--seed 1] [--eval-windows 64] [--log-every 50] [--json]
// Defaults: stories260K + tok512 from ../shared/models (EDGEQ_MODELS), train.txt and
// heldout.txt from --data (scripts/make-style-data.ts writes them). Held-out loss = mean
// over the first --eval-windows windows of heldout.txt (compiler/train/data.ts) of each
// window's mean cross-entropy (nats/token); "before" is the fresh trainer (B = 0).
// The integer trainer is compiler/train/int-reference.ts's createIntReferenceTrainer from
// initialAdapterState, run on the round-to-nearest int8 model of the checkpoint.
import { parseArgs } from 'node:util';
import { join, resolve } from 'node:path';
import { openModel } from '../compiler/import/open-model.ts';
import { loadWeights, type FloatWeights } from '../compiler/import/graph.ts';
import { Tokenizer } from '../compiler/import/tokenizer.ts';
import { FloatLoraTrainer } from '../compiler/reference/float/lora.ts';
import { heldOutWindows, loadTokenStream, trainingWindows } from '../compiler/train/data.ts';
import { FINETUNE_DEFAULTS as D, type TrainConfig, type Trainer } from '../compiler/train/trainer.ts';
import { createIntReferenceTrainer, initialAdapterState } from '../compiler/train/int-reference.ts';
import { quantizeInt8 } from '../compiler/quantize/int8.ts';
import { EdgeqError, usageError } from '../compiler/util/errors.ts';

export interface TrainerResult {
  trainer: string; before: number; after: number; reduction: number;
  firstStepLoss: number; lastStepsLoss: number; seconds: number; peakBytes: number;
}

const meanLoss = (t: Trainer, windows: Int32Array[]): number => {
  let s = 0;
  for (const w of windows) s += t.loss(w);
  return s / windows.length;
};

async function main(): Promise<void> {
  const { values } = parseArgs({ options: {
    model: { type: 'string' }, tokenizer: { type: 'string' }, data: { type: 'string', default: 'out/style-data' },
    train: { type: 'string' }, heldout: { type: 'string' }, trainers: { type: 'string', default: 'float' },
    steps: { type: 'string', default: '300' }, 'seq-len': { type: 'string', default: String(D.seqLen) }, rank: { type: 'string', default: String(D.rank) },
    lr: { type: 'string', default: String(D.lr) }, seed: { type: 'string', default: String(D.seed) }, 'eval-windows': { type: 'string', default: '64' },
    'log-every': { type: 'string', default: '50' }, json: { type: 'boolean', default: false },
  } });
  const models = process.env.EDGEQ_MODELS ?? resolve(import.meta.dirname, '../../shared/models');
  const num = (name: string, v: string, int: boolean): number => {
    const x = Number(v);
    if (!Number.isFinite(x) || (int && !Number.isInteger(x))) throw usageError(`--${name} must be ${int ? 'an integer' : 'a number'}, got ${JSON.stringify(v)}`);
    return x;
  };
  const steps = num('steps', values.steps!, true), evalWindows = num('eval-windows', values['eval-windows']!, true);
  const logEvery = num('log-every', values['log-every']!, true);
  const config: TrainConfig = {
    rank: num('rank', values.rank!, true), seqLen: num('seq-len', values['seq-len']!, true),
    lr: num('lr', values.lr!, false), seed: num('seed', values.seed!, true),
  };
  const names = values.trainers!.split(',').map((s) => s.trim()).filter(Boolean);
  for (const n of names) if (n !== 'float' && n !== 'int') throw usageError(`--trainers: unknown trainer ${JSON.stringify(n)} (known: float, int)`);
  if (names.length === 0) throw usageError('--trainers: no trainer given (float, int)');

  const modelPath = values.model ?? join(models, 'stories260K.bin');
  const tok = Tokenizer.load(values.tokenizer ?? join(models, 'tok512.bin'));
  const train = loadTokenStream(tok, values.train ?? join(values.data!, 'train.txt'));
  const held = loadTokenStream(tok, values.heldout ?? join(values.data!, 'heldout.txt'));
  const windows = trainingWindows(train, config.seqLen, steps, config.seed);
  const evalSet = heldOutWindows(held, config.seqLen, evalWindows);
  const weights: FloatWeights = loadWeights(openModel(modelPath));
  const make = (n: string): Trainer => {
    if (n === 'float') return new FloatLoraTrainer(weights, config);
    const m = quantizeInt8(weights);
    return createIntReferenceTrainer(m, initialAdapterState(m.params, config, new Uint8Array(32)));
  };
  const results: TrainerResult[] = [];
  for (const n of names) {
    const t0 = Date.now();
    const t = make(n);
    const before = meanLoss(t, evalSet);
    let first = NaN, tail = 0;
    const tailN = Math.min(20, steps);
    for (let s = 0; s < steps; s++) {
      const l = t.step(windows[s]);
      if (s === 0) first = l;
      if (s >= steps - tailN) tail += l / tailN;
      if (logEvery > 0 && (s + 1) % logEvery === 0) process.stderr.write(`${n}: step ${s + 1}/${steps} loss ${l.toFixed(4)}\n`);
    }
    const after = meanLoss(t, evalSet);
    results.push({ trainer: n, before, after, reduction: before - after, firstStepLoss: first, lastStepsLoss: tail,
      seconds: (Date.now() - t0) / 1000, peakBytes: t.peakBytes() });
  }
  const fl = results.find((r) => r.trainer === 'float'), il = results.find((r) => r.trainer === 'int');
  const ratio = fl && il ? il.reduction / fl.reduction : null;
  const setup = {
    model: modelPath, train: train.file, heldout: held.file, trainTokens: train.tokens.length, heldoutTokens: held.tokens.length,
    evalWindows: evalSet.length, steps, ...config,
  };
  if (values.json) {
    console.log(JSON.stringify({ ...setup, results, reductionRatioIntOverFloat: ratio }));
    return;
  }
  console.log(`model ${modelPath}; ${steps} steps x ${config.seqLen} positions, rank ${config.rank}, lr ${config.lr}, seed ${config.seed}; `
    + `held-out: ${evalSet.length} windows of ${held.file}; train: ${train.tokens.length} tokens of ${train.file}\n`);
  console.log('| trainer | held-out loss before | after | reduction | train loss step 1 | last 20 steps | time (s) | peak MB |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    console.log(`| ${r.trainer} | ${r.before.toFixed(4)} | ${r.after.toFixed(4)} | ${r.reduction.toFixed(4)} | ${r.firstStepLoss.toFixed(4)} | `
      + `${r.lastStepsLoss.toFixed(4)} | ${r.seconds.toFixed(1)} | ${(r.peakBytes / 2 ** 20).toFixed(2)} |`);
  }
  if (ratio !== null) console.log(`\nloss reduction ratio integer / float: ${ratio.toFixed(3)}`);
}

main().catch((e) => {
  if (e instanceof EdgeqError) { console.error(`eval-finetune: error: ${e.message}`); process.exit(e.exitCode); }
  throw e;
});
