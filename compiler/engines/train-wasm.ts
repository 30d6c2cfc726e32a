// The Node/V8 host of the training runtime (runtime/assembly/train.ts, generated per
// bundle by compiler/codegen/train-runtime.ts; docs/runtime-abi.md, "Training"): the
// Trainer of compiler/train/trainer.ts on the device code, with the same float-facing
// conversions as the integer reference's wrapper (compiler/train/int-reference.ts), and an
// adapter-aware logits engine for `edgeq run --adapter`.
import { createHash } from 'node:crypto';
import type { ArtifactContents } from '../emit/artifact-contents.ts';
import { buildTrainRuntime } from '../codegen/train-runtime.ts';
import { adapterLayout, checkTrainFormat, meanLossTrainer } from '../train/int-reference.ts';
import type { AdapterState, Trainer } from '../train/trainer.ts';
import { openBundle } from './bundle.ts';
import { runtimeErrorMessage } from './wasm-runtime.ts';
import { EdgeqError } from '../util/errors.ts';

/** The training runtime's exports (docs/runtime-abi.md, "Training"). */
export interface TrainExports {
  memory: WebAssembly.Memory;
  reserve(len: number): number;
  load(len: number): number;
  train_init(rPad: number, seqLen: number, lrM: number, lrE: number, rngLo: number, rngHi: number): number;
  adapter_state(): number;
  adapter_state_words(): number;
  tokens(): number;
  train_step(n: number): number;
  train_loss(n: number): number;
  lora_forward(token: number, pos: number): number;
  logits(): number;
  logits_hash(): bigint;
  peak_bytes(): number;
}

/** What the host needs of a bundle: the artifact's bytes and its parsed contents. */
export interface TrainBundle { artifactBytes: Uint8Array; artifact: ArtifactContents; artifactPath?: string }

/** The state block of an AdapterState: its tensors in adapterLayout order, then rng lo, hi. */
export function stateBlock(a: ArtifactContents, s: AdapterState): Int32Array {
  const layout = adapterLayout(a.config, s.rPad);
  const byName = new Map(s.tensors.map((t) => [t.name, t]));
  const words = layout.reduce((n, t) => n + t.shape[0] * t.shape[1], 0) + 2;
  const out = new Int32Array(words);
  let o = 0;
  for (const t of layout) {
    const src = byName.get(t.name);
    const n = t.shape[0] * t.shape[1];
    if (!src || src.data.length !== n) throw new EdgeqError(`adapter tensor ${t.name}: missing or ${src?.data.length} values, expected ${n}`);
    out.set(src.data, o);
    o += n;
  }
  out[o] = s.rngLo; out[o + 1] = s.rngHi;
  return out;
}

/** An AdapterState holding `block` (stateBlock's layout) and `step`, the rest from `s`. */
export function stateFromBlock(a: ArtifactContents, s: AdapterState, block: Int32Array, step: number): AdapterState {
  const layout = adapterLayout(a.config, s.rPad);
  let o = 0;
  const tensors = layout.map((t) => {
    const n = t.shape[0] * t.shape[1];
    const data = block.slice(o, o + n);
    o += n;
    return { name: t.name, shape: t.shape.slice(), data };
  });
  return { ...s, step, rngLo: block[o], rngHi: block[o + 1], tensors };
}

/** One instance of the training runtime with the artifact loaded and `s` in its state block. */
export class WasmTrainer {
  private constructor(readonly ex: TrainExports, readonly a: ArtifactContents, readonly words: number, readonly seqLen: number) {}

  static async create(b: TrainBundle, s: AdapterState, opts: { simd?: boolean } = {}): Promise<WasmTrainer> {
    const file = b.artifactPath ?? 'model.edgeq';
    checkTrainFormat(s, 'the runtime');
    const sha = createHash('sha256').update(b.artifactBytes).digest();
    if (!sha.equals(Buffer.from(s.baseSha256))) {
      throw new EdgeqError(`the adapter belongs to a model.edgeq with SHA-256 ${Buffer.from(s.baseSha256).toString('hex')}, this one is ${sha.toString('hex')}`, { file });
    }
    const simd = opts.simd ?? b.artifact.target.simd;
    const build = await buildTrainRuntime(b.artifact, { name: b.artifact.target.name, simd });
    const { instance } = await WebAssembly.instantiate(build.wasm, { host: { print: () => {} } });
    const ex = instance.exports as unknown as TrainExports;
    const ptr = ex.reserve(b.artifactBytes.length);
    if (ptr === 0) throw new EdgeqError(`the training runtime could not reserve ${b.artifactBytes.length} bytes for the artifact`, { file });
    new Uint8Array(ex.memory.buffer, ptr, b.artifactBytes.length).set(b.artifactBytes);
    let code = ex.load(b.artifactBytes.length);
    if (code !== 0) throw new EdgeqError(`the training runtime rejected the artifact: ${runtimeErrorMessage(code)}`, { file });
    const block = stateBlock(b.artifact, s);
    code = ex.train_init(s.rPad, s.seqLen, s.lrM, s.lrE, s.rngLo, s.rngHi);
    if (code !== 0) throw new EdgeqError(`train_init(r_pad ${s.rPad}, seq_len ${s.seqLen}) failed: ${runtimeErrorMessage(code)}`);
    const words = ex.adapter_state_words();
    if (words !== block.length) throw new EdgeqError(`internal: the runtime's adapter state has ${words} words, the layout ${block.length}`);
    const t = new WasmTrainer(ex, b.artifact, words, s.seqLen);
    t.stateView().set(block);
    return t;
  }

  /** A view of the state block in the runtime's memory (valid until memory grows). */
  stateView(): Int32Array { return new Int32Array(this.ex.memory.buffer, this.ex.adapter_state(), this.words); }

  private putTokens(tokens: Int32Array): void {
    const room = this.a.config.seqLen + 1;
    if (tokens.length > room) throw new EdgeqError(`${tokens.length} tokens, the runtime holds at most ${room}`);
    new Int32Array(this.ex.memory.buffer, this.ex.tokens(), tokens.length).set(tokens);
  }

  /** One step; the summed loss (Q16 nats). */
  stepQ16(tokens: Int32Array): number {
    if (tokens.length !== this.seqLen + 1) throw new EdgeqError(`fine-tuning step: ${tokens.length} tokens, expected ${this.seqLen + 1}`);
    this.putTokens(tokens);
    const r = this.ex.train_step(tokens.length);
    if (r < 0) throw new EdgeqError(`train_step failed: ${runtimeErrorMessage(-r)}`);
    return r;
  }

  /** Summed loss (Q16 nats) of the predictions of tokens, no update. */
  lossQ16(tokens: Int32Array): number {
    this.putTokens(tokens);
    const r = this.ex.train_loss(tokens.length);
    if (r < 0) throw new EdgeqError(`train_loss failed: ${runtimeErrorMessage(-r)}`);
    return r;
  }

  /** Q16 logits of token at pos with the adapter (positions in order from 0); reused by the next call. */
  forward(token: number, pos: number): Int32Array {
    const code = this.ex.lora_forward(token, pos);
    if (code !== 0) throw new EdgeqError(`lora_forward(token ${token}, position ${pos}) failed: ${runtimeErrorMessage(code)}`);
    return new Int32Array(this.ex.memory.buffer, this.ex.logits(), this.a.config.vocabSize);
  }
}

function asBundle(b: string | TrainBundle): TrainBundle {
  return typeof b === 'string' ? openBundle(b) : b;
}

/** The training runtime in V8 as a Trainer (loss in nats for display; everything else integer). */
export async function createWasmTrainer(bundle: string | TrainBundle, state: AdapterState, opts: { simd?: boolean } = {}): Promise<Trainer> {
  const b = asBundle(bundle);
  const tr = await WasmTrainer.create(b, state, opts);
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
  const tr = await WasmTrainer.create(b, state, opts);
  return { vocabSize: b.artifact.config.vocabSize, forward: (token, pos) => tr.forward(token, pos) };
}
