// The fine-tuning interface shared by every trainer (docs/integer-spec.md §13): the
// integer reference (runtime/reference/train.ts), the generated runtime on an engine, and
// the float LoRA reference (compiler/reference/float/lora.ts). `edgeq finetune` and the
// measurement script only talk to this interface, so the same data, steps and
// hyper-parameters drive all of them.

/** Hyper-parameters of a fine-tuning run (the host may hold floats; the device gets integers). */
export interface TrainConfig {
  /** LoRA rank r (4, 8, 16 or 32); stored padded to a multiple of 16. */
  rank: number;
  /** Positions predicted per step: a step reads seqLen + 1 tokens. */
  seqLen: number;
  /** Learning rate of SGD with momentum 0.875 (on the mean loss over positions). */
  lr: number;
  /** Seeds the adapter's initial A and the stochastic rounding stream. */
  seed: number;
}

/**
 * `edgeq finetune`'s defaults, shared with `edgeq verify --train` (which trains from the same
 * initial adapter). lr 0.02: the best of a sweep on stories260K at seqLen 32 (0.05 diverged;
 * scripts/eval-finetune.ts).
 */
export const FINETUNE_DEFAULTS = { rank: 8, lr: 0.02, seqLen: 32, seed: 1 } as const;

/** One adapter tensor: int32 Q24 weights or Q20 momentum, row-major. */
export interface AdapterTensor { name: string; shape: number[]; data: Int32Array }

/**
 * Everything needed to use an adapter or to resume training it: saved as an adapter file
 * (schemas/adapter.fbs) by compiler/emit/adapter.ts.
 */
export interface AdapterState {
  /** SHA-256 of the model.edgeq the adapter belongs to (32 bytes). */
  baseSha256: Uint8Array;
  rank: number;
  /** rank rounded up to a multiple of 16 (the stored width). */
  rPad: number;
  /** Adapted matrices, e.g. ["wq", "wv"]. */
  targets: string[];
  seqLen: number;
  /** Host-side learning rate (for display/resume) and its integer form (lrM * 2^-lrE, lr / seqLen). */
  lr: number;
  lrM: number;
  lrE: number;
  /** Momentum μ = 1 - 2^-momentumShift. */
  momentumShift: number;
  /** GSE group size and mantissa bits used in training (16, 8). */
  gseG: number;
  gseM: number;
  seed: number;
  /** Optimizer steps done so far. */
  step: number;
  /** xorshift64* state (lo, hi) for the stochastic rounding stream, so a resumed run continues it. */
  rngLo: number;
  rngHi: number;
  /**
   * "blocks.<l>.<target>.lora_a" [rPad, din], ".lora_b" [dout, rPad] (Q24), and
   * "<same>.momentum" (Q20) for each of them.
   */
  tensors: AdapterTensor[];
}

export interface Trainer {
  /** One optimizer step on tokens[0..seqLen] (seqLen + 1 tokens); returns the mean loss in nats. */
  step(tokens: Int32Array): number;
  /** Mean loss over tokens[0..n) (n - 1 predictions) without updating anything. */
  loss(tokens: Int32Array): number;
  /** The current adapter and optimizer state. */
  state(): AdapterState;
  /** Peak bytes of memory the trainer's buffers use (runtime: linear memory; reference: typed arrays). */
  peakBytes(): number;
}
