// The Node/V8 host of the training runtime (runtime/assembly/train.ts, generated per
// bundle by compiler/codegen/train-runtime.ts; docs/runtime-abi.md, "Training"): builds the
// module for a bundle and drives it through compiler/engines/train-host.ts — the Trainer of
// compiler/train/trainer.ts on the device code, with the same float-facing conversions as
// the integer reference's wrapper (compiler/train/int-reference.ts), and an adapter-aware
// logits engine for `edgeq run --adapter`.
import { createHash } from 'node:crypto';
import { buildTrainRuntime } from '../codegen/train-runtime.ts';
import { meanLossTrainer } from '../train/int-reference.ts';
import type { AdapterState, Trainer } from '../train/trainer.ts';
import { openBundle } from './bundle.ts';
import { EdgeqError } from '../util/errors.ts';
import { WasmTrainer, stateFromBlock, type TrainBundle } from './train-host.ts';

export { WasmTrainer, stateBlock, stateFromBlock, type TrainBundle, type TrainExports } from './train-host.ts';

/** The bundle's training module (built by the codegen, cached) with the artifact loaded and `s` in its state block. */
async function createWasmTrainerHost(b: TrainBundle, s: AdapterState, opts: { simd?: boolean } = {}): Promise<WasmTrainer> {
  const file = b.artifactPath ?? 'model.edgeq';
  const sha = createHash('sha256').update(b.artifactBytes).digest();
  if (!sha.equals(Buffer.from(s.baseSha256))) {
    throw new EdgeqError(`the adapter belongs to a model.edgeq with SHA-256 ${Buffer.from(s.baseSha256).toString('hex')}, this one is ${sha.toString('hex')}`, { file });
  }
  const simd = opts.simd ?? b.artifact.target.simd;
  const build = await buildTrainRuntime(b.artifact, { name: b.artifact.target.name, simd });
  return WasmTrainer.fromWasm(build.wasm, b, s);
}

function asBundle(b: string | TrainBundle): TrainBundle {
  return typeof b === 'string' ? openBundle(b) : b;
}

/** The training runtime in V8 as a Trainer (loss in nats for display; everything else integer). */
export async function createWasmTrainer(bundle: string | TrainBundle, state: AdapterState, opts: { simd?: boolean } = {}): Promise<Trainer> {
  const b = asBundle(bundle);
  const tr = await createWasmTrainerHost(b, state, opts);
  return meanLossTrainer(tr, state.step, (step) => stateFromBlock(b.artifact, state, tr.stateView().slice(), step), () => tr.ex.peak_bytes() >>> 0);
}

/** Q16 logits with an adapter, position by position (for `edgeq run --adapter` on the device code). */
export interface AdapterLogitsEngine {
  readonly vocabSize: number;
  /** Logits (int32 Q16) of token at pos; positions in order from 0. The array is reused. */
  forward(token: number, pos: number): Int32Array;
}

export async function wasmAdapterEngine(bundle: string | TrainBundle, state: AdapterState, opts: { simd?: boolean } = {}): Promise<AdapterLogitsEngine> {
  const b = asBundle(bundle);
  const tr = await createWasmTrainerHost(b, state, opts);
  return { vocabSize: b.artifact.config.vocabSize, forward: (token, pos) => tr.forward(token, pos) };
}
