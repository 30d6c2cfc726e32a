// The training runtime's host without the compiler: instantiates an already built training
// module (runtime/assembly/train.ts, docs/runtime-abi.md "Training") and drives it. No Node
// built-ins, so the JavaScript API (compiler/api/) runs it in a browser too; building the
// module (the AssemblyScript compiler) is compiler/engines/train-wasm.ts's job.
import type { ArtifactContents } from '../emit/artifact-contents.ts';
import { adapterLayout, checkTrainFormat } from '../train/int-reference.ts';
import type { AdapterState } from '../train/trainer.ts';
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

  /**
   * Instantiates the training module `wasm` (built for this artifact), loads the artifact and
   * puts `s` in its state block. The caller has checked that `s` belongs to this artifact.
   */
  static async fromWasm(wasm: Uint8Array, b: TrainBundle, s: AdapterState): Promise<WasmTrainer> {
    const file = b.artifactPath ?? 'model.edgeq';
    checkTrainFormat(s, 'the runtime');
    const { instance } = await WebAssembly.instantiate(new Uint8Array(wasm), { host: { print: () => {} } });
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
