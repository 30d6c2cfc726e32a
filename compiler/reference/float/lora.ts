// The float LoRA reference (issue 7): the Trainer interface in float64 over the float
// checkpoint weights, the yardstick the integer trainer's loss reduction is measured
// against (scripts/eval-finetune.ts).
//
// Same recipe as the integer trainer (docs/integer-spec.md §13): LoRA on wq and wv of
// every block, A [r, din], B [dout, r], scaling 1, B = 0 and A = initLoraA(r, din, seed,
// loraStream(l, target, 2)) / 2^24 at the start (compiler/train/lora-init.ts), mean
// cross-entropy over the seqLen predictions of a step, hand-written backward
// (lora-pass.ts), SGD with momentum μ = 0.875: v ← μ v + g; w ← w − lr·v.
// Differences by design: everything is float64 (no GSE, no stochastic rounding, no
// int8 weights), and the rank is not padded (state() pads to rPad with zeros).
import type { FloatWeights } from '../../import/graph.ts';
import { kvDim } from '../../import/graph.ts';
import type { AdapterState, AdapterTensor, TrainConfig, Trainer } from '../../train/trainer.ts';
import { initLoraA, loraStream, W_FRAC } from '../../train/lora-init.ts';
import { roundHalfAway, toScale } from '../../quantize/fixed-point.ts';
import { usageError } from '../../util/errors.ts';
import { LoraPass, type LoraBlock, type LoraPair } from './lora-pass.ts';

export const MOMENTUM_SHIFT = 3;
export const MOMENTUM = 1 - 2 ** -MOMENTUM_SHIFT;
/** Fraction bits of the momentum in AdapterState (the integer trainer's GACC_FRAC). */
export const MOMENTUM_FRAC = 20;
export const TARGETS = ['wq', 'wv'] as const;

export interface FloatLoraOptions {
  /** Put into state().baseSha256 (the float trainer has no model.edgeq); default 32 zero bytes. */
  baseSha256?: Uint8Array;
}

/** A float adapter tensor with its optimizer state, for tests and inspection. */
export interface FloatAdapterTensor { name: string; shape: [number, number]; w: Float64Array; g: Float64Array; v: Float64Array }

/** Checks a TrainConfig against the model; user-facing errors. */
export function checkTrainConfig(cfg: TrainConfig, modelSeqLen: number): void {
  if (!Number.isInteger(cfg.rank) || cfg.rank < 1) throw usageError(`LoRA rank must be a positive integer, got ${cfg.rank}`);
  if (!Number.isInteger(cfg.seqLen) || cfg.seqLen < 1 || cfg.seqLen > modelSeqLen) {
    throw usageError(`sequence length must be an integer in [1, ${modelSeqLen}] (the model's context), got ${cfg.seqLen}`);
  }
  if (!(cfg.lr > 0) || !Number.isFinite(cfg.lr)) throw usageError(`learning rate must be positive and finite, got ${cfg.lr}`);
  if (!Number.isInteger(cfg.seed) || cfg.seed < 0 || cfg.seed > 0xffffffff) throw usageError(`seed must be an integer in [0, 2^32), got ${cfg.seed}`);
}

export class FloatLoraTrainer implements Trainer {
  readonly config: TrainConfig;
  /** Adapters per block; tensors() lists the same arrays by name. */
  readonly blocks: LoraBlock[] = [];
  private readonly w: FloatWeights;
  private readonly mom = new Map<Float64Array, Float64Array>();
  private readonly passes = new Map<number, LoraPass>();
  private readonly baseSha256: Uint8Array;
  private steps = 0;
  private peak = 0;

  constructor(w: FloatWeights, config: TrainConfig, opts: FloatLoraOptions = {}) {
    checkTrainConfig(config, w.config.seqLen);
    this.w = w;
    this.config = { ...config };
    this.baseSha256 = opts.baseSha256 ?? new Uint8Array(32);
    const c = w.config, r = config.rank;
    const pair = (l: number, ti: number, dout: number): LoraPair => {
      const aQ = initLoraA(r, c.dim, config.seed, loraStream(l, ti, TARGETS.length));
      const a = Float64Array.from(aQ, (x) => x * 2 ** -W_FRAC);
      const p: LoraPair = { a, b: new Float64Array(dout * r), gA: new Float64Array(a.length), gB: new Float64Array(dout * r), din: c.dim, dout };
      this.mom.set(p.a, new Float64Array(p.a.length));
      this.mom.set(p.b, new Float64Array(p.b.length));
      return p;
    };
    for (let l = 0; l < c.nLayers; l++) this.blocks.push({ wq: pair(l, 0, c.dim), wv: pair(l, 1, kvDim(c)) });
  }

  /** Every adapter tensor in state() order: per block, per target, A then B. */
  tensors(): FloatAdapterTensor[] {
    const out: FloatAdapterTensor[] = [];
    const r = this.config.rank;
    this.blocks.forEach((b, l) => {
      for (const t of TARGETS) {
        const p = b[t];
        out.push({ name: `blocks.${l}.${t}.lora_a`, shape: [r, p.din], w: p.a, g: p.gA, v: this.mom.get(p.a)! });
        out.push({ name: `blocks.${l}.${t}.lora_b`, shape: [p.dout, r], w: p.b, g: p.gB, v: this.mom.get(p.b)! });
      }
    });
    return out;
  }

  private pass(T: number): LoraPass {
    if (T < 1 || T > this.w.config.seqLen) {
      throw usageError(`a sequence of ${T + 1} tokens gives ${T} predictions; need 1..${this.w.config.seqLen} (the model's context)`);
    }
    // One pass per length seen (training uses seqLen; held-out windows usually the same).
    let p = this.passes.get(T);
    if (!p) {
      p = new LoraPass(this.w, this.config.rank, T);
      this.passes.set(T, p);
      let bytes = 0;
      for (const q of this.passes.values()) bytes += q.bytes;
      this.peak = Math.max(this.peak, bytes);
    }
    return p;
  }

  /** Mean loss and its gradient in every tensor's g (no update). */
  lossAndGradient(tokens: Int32Array): number {
    const p = this.pass(tokens.length - 1);
    const loss = p.forward(tokens, this.blocks);
    p.backward(tokens, this.blocks);
    return loss;
  }

  step(tokens: Int32Array): number {
    if (tokens.length !== this.config.seqLen + 1) {
      throw usageError(`a training step takes seqLen + 1 = ${this.config.seqLen + 1} tokens, got ${tokens.length}`);
    }
    const loss = this.lossAndGradient(tokens);
    const lr = this.config.lr;
    for (const t of this.tensors()) {
      const { w, g, v } = t;
      for (let i = 0; i < w.length; i++) {
        v[i] = MOMENTUM * v[i] + g[i];
        w[i] -= lr * v[i];
      }
    }
    this.steps++;
    return loss;
  }

  loss(tokens: Int32Array): number {
    return this.pass(tokens.length - 1).forward(tokens, this.blocks);
  }

  state(): AdapterState {
    const r = this.config.rank, rPad = Math.ceil(r / 16) * 16;
    const q = (x: number, frac: number) => Math.max(-0x7fffffff, Math.min(0x7fffffff, roundHalfAway(x * 2 ** frac)));
    const tensors: AdapterTensor[] = [];
    const emit = (name: string, t: FloatAdapterTensor, src: Float64Array, frac: number) => {
      const [rows, cols] = t.shape;
      // A pads rows (r → rPad), B pads columns; the padding stays zero.
      const isA = name.includes('lora_a');
      const shape = isA ? [rPad, cols] : [rows, rPad];
      const data = new Int32Array(shape[0] * shape[1]);
      for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) data[i * shape[1] + j] = q(src[i * cols + j], frac);
      tensors.push({ name, shape, data });
    };
    for (const t of this.tensors()) {
      emit(t.name, t, t.w, W_FRAC);
      emit(`${t.name}.momentum`, t, t.v, MOMENTUM_FRAC);
    }
    const lrScale = toScale(this.config.lr / this.config.seqLen);
    return {
      baseSha256: this.baseSha256, rank: r, rPad, targets: [...TARGETS], seqLen: this.config.seqLen,
      lr: this.config.lr, lrM: lrScale.m, lrE: lrScale.e, momentumShift: MOMENTUM_SHIFT, gseG: 16, gseM: 8,
      // No stochastic rounding in float: the stream state is reported as 0.
      seed: this.config.seed, step: this.steps, rngLo: 0, rngHi: 0, tensors,
    };
  }

  peakBytes(): number {
    let adapters = 0;
    for (const t of this.tensors()) adapters += 8 * (t.w.length + t.g.length + t.v.length);
    return adapters + this.peak;
  }
}
