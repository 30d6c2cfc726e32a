// Host side of the integer trainer: the initial adapter state (the same for every engine),
// moving an AdapterState in and out of the integer reference (runtime/reference/train.ts),
// and the float-facing Trainer wrapper (loss in nats, lr as a float) that `edgeq finetune`
// and scripts/eval-finetune.ts use.
import type { QuantModel } from '../quantize/quant-model.ts';
import { toScale } from '../quantize/fixed-point.ts';
import { EdgeqError } from '../util/errors.ts';
import { IntLoraTrainer, LORA_TARGETS, MOMENTUM_SHIFT, TRAIN_G, TRAIN_M } from '../../runtime/reference/train.ts';
import type { AdapterState, AdapterTensor, TrainConfig, Trainer } from './trainer.ts';
import { initLoraA, loraStream } from './lora-init.ts';

export const LORA_RANKS = [4, 8, 16, 32];
const Q16 = 2 ** -16;

/** What the adapter's shapes depend on: the model's QuantParams or an artifact's config both have it. */
export type AdapterShapeParams = Pick<QuantModel['params'], 'dim' | 'nHeads' | 'nKvHeads' | 'nLayers'>;

/** The adapter tensors' names and shapes for a model, in file order. */
export function adapterLayout(p: AdapterShapeParams, rPad: number): Array<{ name: string; shape: number[] }> {
  const kd = (p.dim / p.nHeads) * p.nKvHeads;
  const out: Array<{ name: string; shape: number[] }> = [];
  for (let l = 0; l < p.nLayers; l++) {
    for (const t of LORA_TARGETS) {
      const dout = t === 'wq' ? p.dim : kd;
      out.push({ name: `blocks.${l}.${t}.lora_a`, shape: [rPad, p.dim] }, { name: `blocks.${l}.${t}.lora_b`, shape: [dout, rPad] });
    }
  }
  return out.flatMap((t) => [t, { name: `${t.name}.momentum`, shape: t.shape }]);
}

/** The learning rate per position (lr / seqLen) as the integer scale the device uses. */
export function lrScale(lr: number, seqLen: number): { lrM: number; lrE: number } {
  if (!(lr > 0) || !Number.isFinite(lr)) throw new EdgeqError(`--lr must be a positive number, got ${lr}`);
  const s = toScale(lr / seqLen);
  return { lrM: s.m, lrE: s.e };
}

/** Step 0: A from initLoraA (padded rows zero), B zero, momentum zero. */
export function initialAdapterState(p: AdapterShapeParams, cfg: TrainConfig, baseSha256: Uint8Array): AdapterState {
  if (!LORA_RANKS.includes(cfg.rank)) throw new EdgeqError(`--rank must be one of ${LORA_RANKS.join(', ')}, got ${cfg.rank}`);
  if (!Number.isInteger(cfg.seed) || cfg.seed < 0 || cfg.seed > 0xffffffff) throw new EdgeqError(`--seed must be an integer in [0, 2^32), got ${cfg.seed}`);
  const rPad = Math.ceil(cfg.rank / 16) * 16;
  const tensors: AdapterTensor[] = adapterLayout(p, rPad).map((t) => ({ name: t.name, shape: t.shape, data: new Int32Array(t.shape[0] * t.shape[1]) }));
  for (let l = 0; l < p.nLayers; l++) {
    LORA_TARGETS.forEach((t, k) => {
      const a = tensors.find((x) => x.name === `blocks.${l}.${t}.lora_a`)!;
      a.data.set(initLoraA(cfg.rank, p.dim, cfg.seed, loraStream(l, k, LORA_TARGETS.length)));
    });
  }
  return {
    baseSha256, rank: cfg.rank, rPad, targets: [...LORA_TARGETS], seqLen: cfg.seqLen, lr: cfg.lr, ...lrScale(cfg.lr, cfg.seqLen),
    momentumShift: MOMENTUM_SHIFT, gseG: TRAIN_G, gseM: TRAIN_M, seed: cfg.seed, step: 0,
    // The stochastic-rounding stream: its own seed words (lo = seed, hi = 0x5352 "SR"), never 0.
    rngLo: cfg.seed | 0, rngHi: 0x5352,
    tensors,
  };
}

/** Refuses a state trained with other constants than the integer trainers implement (§13.9). */
export function checkTrainFormat(s: AdapterState, trainer: string): void {
  if (s.momentumShift !== MOMENTUM_SHIFT || s.gseG !== TRAIN_G || s.gseM !== TRAIN_M) {
    throw new EdgeqError(`adapter was trained with momentum shift ${s.momentumShift}, GSE G=${s.gseG} M=${s.gseM}; ${trainer} implements ${MOMENTUM_SHIFT}, ${TRAIN_G}, ${TRAIN_M}`);
  }
}

/** The integer reference trainer holding `s` (the arrays are copied in). */
export function intTrainerFromState(m: QuantModel, s: AdapterState): IntLoraTrainer {
  checkTrainFormat(s, 'this trainer');
  const tr = new IntLoraTrainer(m, { rPad: s.rPad, seqLen: s.seqLen, lrM: s.lrM, lrE: s.lrE, rngLo: s.rngLo, rngHi: s.rngHi });
  const byName = new Map(s.tensors.map((t) => [t.name, t]));
  for (let l = 0; l < m.params.nLayers; l++) {
    LORA_TARGETS.forEach((t, k) => {
      const ad = tr.adapters[l * 2 + k];
      for (const [suffix, arr] of [['lora_a', ad.a], ['lora_b', ad.b], ['lora_a.momentum', ad.va], ['lora_b.momentum', ad.vb]] as const) {
        const src = byName.get(`blocks.${l}.${t}.${suffix}`);
        if (!src || src.data.length !== arr.length) throw new EdgeqError(`adapter tensor blocks.${l}.${t}.${suffix}: missing or ${src?.data.length} values, expected ${arr.length}`);
        arr.set(src.data);
      }
    });
  }
  return tr;
}

/** The trainer's arrays back into an AdapterState (after `steps` more steps than `s`). */
export function stateFromIntTrainer(tr: IntLoraTrainer, s: AdapterState, step: number): AdapterState {
  const tensors = s.tensors.map((t) => {
    const [, l, target, ...rest] = t.name.split('.');
    const ad = tr.adapters[Number(l) * 2 + LORA_TARGETS.indexOf(target as 'wq')];
    const which = rest.join('.');
    const src = which === 'lora_a' ? ad.a : which === 'lora_b' ? ad.b : which === 'lora_a.momentum' ? ad.va : ad.vb;
    return { name: t.name, shape: t.shape.slice(), data: src.slice() };
  });
  const [rngLo, rngHi] = tr.rng.state();
  return { ...s, step, rngLo, rngHi, tensors };
}

/** What both integer trainers (the reference and the runtime) do: summed losses in Q16 nats. */
export interface Q16Trainer {
  stepQ16(tokens: Int32Array): number;
  lossQ16(tokens: Int32Array): number;
}

/**
 * An integer trainer as a Trainer: the mean loss in nats (host-side, for display), steps
 * counted on from `step0`; `state(step)` and `peakBytes()` come from the caller.
 */
export function meanLossTrainer(t: Q16Trainer, step0: number, state: (step: number) => AdapterState, peakBytes: () => number): Trainer {
  let step = step0;
  return {
    step(tokens) { const l = t.stepQ16(tokens); step++; return (l * Q16) / (tokens.length - 1); },
    loss(tokens) { return (t.lossQ16(tokens) * Q16) / (tokens.length - 1); },
    state: () => state(step),
    peakBytes,
  };
}

/** The integer reference as a Trainer (loss in nats for display; everything else integer). */
export function createIntReferenceTrainer(m: QuantModel, s: AdapterState): Trainer {
  const tr = intTrainerFromState(m, s);
  return meanLossTrainer(tr, s.step, (step) => stateFromIntTrainer(tr, s, step), () => tr.peakBytes());
}
