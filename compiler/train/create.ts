// Entry points `edgeq finetune`, `edgeq run --adapter` and `edgeq eval --adapter` use to
// get a trainer or an adapter-aware engine for an opened bundle (the caller has already read
// and checked it): the integer reference
// (runtime/reference/train.ts, plain TypeScript) or the generated training runtime in V8
// (compiler/engines/train-wasm.ts). Both start from the same initial adapter state
// (compiler/train/int-reference.ts) and give the same bytes.
import { createHash } from 'node:crypto';
import type { AdapterState, TrainConfig, Trainer } from './trainer.ts';
import type { Bundle } from '../engines/bundle.ts';
import { quantModelFromArtifact } from '../emit/quant-from-artifact.ts';
import { createIntReferenceTrainer, initialAdapterState, intTrainerFromState } from './int-reference.ts';
import { loadHeavyPackages } from '../util/heavy.ts';

/** What runs the training or the adapted forward pass. */
export type TrainEngine = 'reference' | 'v8';
export const TRAIN_ENGINES: readonly TrainEngine[] = ['reference', 'v8'];

/**
 * A model with an adapter applied, shaped like the other integer engines: one position per
 * call, logits as int32 Q16 (value / 2^LOGIT_FRAC, as WasmRuntime.logits()).
 */
export interface AdapterEngine {
  config: { vocabSize: number; seqLen: number };
  /** Runs position `pos` on `token`; the returned array is valid until the next call. */
  forward(token: number, pos: number): Int32Array;
}

/**
 * A trainer for the bundle's int8 model: fresh (initial adapter from `config`) or
 * continuing `resume` (its step, rng and momentum; `config` then equals the state's).
 */
export async function createTrainer(
  engine: TrainEngine, b: Bundle, config: TrainConfig, resume?: AdapterState,
): Promise<Trainer> {
  const sha = new Uint8Array(createHash('sha256').update(b.artifactBytes).digest());
  const state = resume ?? initialAdapterState(b.artifact.config, config, sha);
  if (engine === 'reference') return createIntReferenceTrainer(quantModelFromArtifact(b.artifact, b.artifactPath), state);
  await loadHeavyPackages(); // the training runtime may be generated and compiled
  const { createWasmTrainer } = await import('../engines/train-wasm.ts');
  return createWasmTrainer(b, state);
}

/** The bundle's model with `adapter` applied (checked against the bundle by the caller). */
export async function openAdapterEngine(b: Bundle, adapter: AdapterState, engine: TrainEngine): Promise<AdapterEngine> {
  const config = { vocabSize: b.artifact.config.vocabSize, seqLen: b.artifact.config.seqLen };
  if (engine === 'reference') {
    const tr = intTrainerFromState(quantModelFromArtifact(b.artifact, b.artifactPath), adapter);
    return { config, forward: (token, pos) => tr.forward(token, pos) };
  }
  await loadHeavyPackages();
  const { wasmAdapterEngine } = await import('../engines/train-wasm.ts');
  const e = await wasmAdapterEngine(b, adapter);
  return { config, forward: (token, pos) => e.forward(token, pos) };
}
