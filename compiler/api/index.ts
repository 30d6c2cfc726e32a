// The JavaScript API of edgeq: load a compiled bundle (model.edgeq + runtime.wasm) from
// bytes or URLs and use it — stream generated text, tokenize, read logits, fine-tune a LoRA
// adapter and generate with it. It runs wherever WebAssembly, fetch and WebCrypto do (a
// page, a Web Worker, Node >= 20): no Node built-ins. Published as dist/edgeq.js +
// dist/edgeq.d.ts (scripts/build-api.ts); `import { loadBundle } from 'edgeq'`.
// Guide and example: docs/api.md. Node helpers that read a directory: ./node.ts.
//
// Everything here drives the same code as the CLI: the generation loop of
// compiler/generate.ts, the runtime host of compiler/engines/wasm-runtime.ts, the trainers
// of compiler/train/ and the adapter format of compiler/emit/adapter.ts, so the page's text
// and adapter bytes equal `edgeq run`'s and `edgeq finetune`'s.
import { readArtifact } from '../emit/artifact-read.ts';
import type { ArtifactContents } from '../emit/artifact-contents.ts';
import { adapterBytes, checkAdapterFor, parseAdapter } from '../emit/adapter.ts';
import { quantModelFromArtifact } from '../emit/quant-from-artifact.ts';
import { WasmRuntime } from '../engines/wasm-runtime.ts';
import { WasmTrainer, stateFromBlock } from '../engines/train-host.ts';
import { q16LogitsEngine, wasmEngine, type IntEngine } from '../engines/int-engines.ts';
import { clampSteps, pieces, printedBytes } from '../generate.ts';
import { tokenizerFromContents } from '../emit/tokenizer-contents.ts';
import { parseTokenizer } from '../import/tokenizer.ts';
import type { TextTokenizer as Tokenizer } from '../import/tokenizers/text-tokenizer.ts';
import { encodeDocuments, trainingWindows } from '../train/data.ts';
import { createIntReferenceTrainer, initialAdapterState, intTrainerFromState, meanLossTrainer } from '../train/int-reference.ts';
import { FINETUNE_DEFAULTS, type AdapterState, type TrainConfig, type Trainer } from '../train/trainer.ts';
import { EdgeqError } from '../util/errors.ts';
import { concatBytes, fetchBytes, readSource, sha256, sourceUrl, toHex, verifyEd25519, type FetchOptions } from './sources.ts';

/** A file of a bundle: its bytes, or a URL (a string is resolved against the page's address). */
export type Source = Uint8Array | ArrayBuffer | URL | string;

/** Loading progress of one file (`total` is null when the server did not say). */
export interface LoadProgress { file: string; loaded: number; total: number | null }

/** The files of a bundle, each as bytes or a URL. */
export interface BundleSources {
  /** model.edgeq */
  model: Source;
  /** runtime.wasm */
  runtime: Source;
  /** manifest.json: when given, the files must have the size and sha256 it lists. */
  manifest?: Source;
  /** manifest.sig: the Ed25519 signature of manifest.json (needed with `publicKey`). */
  signature?: Source;
  /** The bundle's training module (train.wasm, as `edgeq compile` ships it): faster fine-tuning, same bytes. */
  trainRuntime?: Source;
  /** A llama2.c tokenizer.bin, when the bundle has no embedded tokenizer. */
  tokenizer?: Source;
}

export interface LoadOptions {
  /**
   * The PEM Ed25519 public key (text of `edgeq keygen`'s .pub file): load only a bundle whose
   * manifest.json it signed (manifest.sig) and whose files match the manifest.
   */
  publicKey?: string;
  /** Called as bytes arrive (one file at a time), for a progress bar. */
  onProgress?: (p: LoadProgress) => void;
  signal?: AbortSignal;
  /** The fetch to use for URLs (default: globalThis.fetch). */
  fetch?: typeof fetch;
  /** @internal Makes the runtime instead of instantiating runtime.wasm here (Node: the threaded flavour, ./node.ts). */
  makeRuntime?: RuntimeMaker;
}

/** @internal Makes a model's runtime from its checked parts (instead of WasmRuntime.create). */
export type RuntimeMaker = (p: { runtimeWasm: Uint8Array; artifact: ArtifactContents; artifactBytes: Uint8Array; file: string }) => Promise<WasmRuntime>;

/** The model's shape, from its artifact. */
export interface ModelInfo {
  vocabSize: number; seqLen: number; dim: number; hiddenDim: number; nLayers: number; nHeads: number; nKvHeads: number;
  /** The compile target (e.g. wasm32) and the plan's method. */
  target: string; plan: string;
  /** SHA-256 of model.edgeq (hex): what an adapter is bound to. */
  sha256: string;
  /** Whether fine-tuning runs the bundle's training module (else the TypeScript integer reference: same bytes, slower). */
  trainingModule: boolean;
  /** Threads generation and evaluation decode on (1 unless loaded with `threads` in Node). */
  threads: number;
}

export interface GenerateOptions {
  /** Tokens to generate after the prompt (default: until the context is full). */
  maxTokens?: number;
  /**
   * Instead of maxTokens: positions to run, the prompt's included, as `edgeq run --positions`
   * (0 or more than the context = the whole context; a longer prompt is cut to it).
   */
  positions?: number;
  /** 0 = greedy (argmax); higher = more random. Default 1. */
  temperature?: number;
  /** Top-p (nucleus) mass; 0 or 1 = sample from everything. Default 0.9. */
  topP?: number;
  /** Sampler seed (default 42, as `edgeq run`): the same seed gives the same text. */
  seed?: number;
  /** Stops generation after the current token. */
  signal?: AbortSignal;
}

/** One generated token. */
export interface GeneratedToken {
  token: number;
  /** The bytes llama2.c prints for it (may be part of a UTF-8 character). */
  bytes: Uint8Array;
  /** The text these bytes complete (UTF-8 decoded in stream order; '' while a character is incomplete). */
  text: string;
}

export interface GenerationStats {
  /** Tokens generated (prompt not counted) and positions run (prompt included). */
  tokens: number;
  positions: number;
  /** Generated tokens per second, timed from the end of the first step as llama2.c does; null if < 2 steps. */
  tokensPerSecond: number | null;
}

export interface FinetuneOptions {
  /** Optimizer steps (each one window of seqLen + 1 tokens of the text). Required. */
  steps: number;
  /** LoRA rank: 4, 8, 16 or 32 (default 8). */
  rank?: number;
  /** Learning rate (default 0.02). */
  lr?: number;
  /** Positions per step (default 32, at most the model's context). */
  seqLen?: number;
  /** Seed of the initial adapter, the window order and the rounding stream (default 1). */
  seed?: number;
  /** Called after each step with its mean loss in nats. */
  onProgress?: (p: { step: number; steps: number; loss: number }) => void;
  /** Stops after the current step; the adapter so far is returned. */
  signal?: AbortSignal;
}

export interface FinetuneResult {
  /** The adapter file's bytes (.edqa, as `edgeq finetune -o` writes): applyAdapter() or `edgeq run --adapter` use it. */
  adapter: Uint8Array;
  /** SHA-256 of `adapter` (hex). */
  sha256: string;
  /** Mean loss (nats) of each step. */
  losses: number[];
  steps: number;
}

export interface EvaluateOptions {
  /** Receives the logits of each position in order (valid until it returns). */
  onLogits?: (logits: Int32Array, position: number) => void;
}

/** A generation in progress: iterate it for tokens; `stats` is complete once it ends. */
export interface Generation extends AsyncIterable<GeneratedToken> {
  readonly stats: GenerationStats;
  /** Runs it to the end and returns the whole text. */
  text(): Promise<string>;
}

/**
 * Loads a bundle: `bundle` is the URL of its directory (model.edgeq, runtime.wasm,
 * manifest.json, and manifest.sig with `publicKey`; train.wasm when the bundle has one) or
 * the files one by one. The files are checked against the manifest's sizes and sha256 and
 * the artifact by the runtime's verifier before anything runs.
 */
export async function loadBundle(bundle: string | URL | BundleSources, opts: LoadOptions = {}): Promise<EdgeqModel> {
  const fo: FetchOptions = { onProgress: opts.onProgress, signal: opts.signal, fetch: opts.fetch };
  let files: BundleSources;
  let trainBytes: Uint8Array | null = null;
  let trainUrl: URL | undefined;
  if (typeof bundle === 'string' || bundle instanceof URL) {
    const base = sourceUrl(bundle);
    if (!base.pathname.endsWith('/')) base.pathname += '/';
    const at = (name: string) => new URL(name, base);
    files = { model: at('model.edgeq'), runtime: at('runtime.wasm'), manifest: at('manifest.json'), ...(opts.publicKey !== undefined ? { signature: at('manifest.sig') } : {}) };
    trainUrl = at('train.wasm');
  } else {
    files = bundle;
  }
  const manifestBytes = files.manifest !== undefined ? await readSource(files.manifest, 'manifest.json', fo) : null;
  if (opts.publicKey !== undefined) {
    if (!manifestBytes || files.signature === undefined) throw new EdgeqError('publicKey given: a trusted bundle needs its manifest.json and manifest.sig (compile with --sign)');
    const sig = new TextDecoder().decode(await readSource(files.signature, 'manifest.sig', fo));
    if (!await verifyEd25519(manifestBytes, sig, opts.publicKey)) {
      throw new EdgeqError('invalid signature: manifest.json was not signed by this public key, or was changed after signing');
    }
  }
  const manifest = manifestBytes ? parseManifest(manifestBytes) : undefined;
  const artifactBytes = await readSource(files.model, 'model.edgeq', fo);
  const wasm = await readSource(files.runtime, 'runtime.wasm', fo);
  if (files.trainRuntime !== undefined) trainBytes = await readSource(files.trainRuntime, 'train.wasm', fo);
  // Optional, last (a server may build it on the first request): none means the reference trainer.
  else if (trainUrl) trainBytes = await fetchBytes(trainUrl, 'train.wasm', fo);
  const modelSha = await sha256(artifactBytes);
  if (manifest) {
    await checkListed(manifest, 'model.edgeq', artifactBytes, modelSha);
    await checkListed(manifest, 'runtime.wasm', wasm);
    // A signed bundle uses only what its manifest covers; an unlisted training module is left out.
    if (trainBytes && manifest.files['train.wasm']) await checkListed(manifest, 'train.wasm', trainBytes);
    else if (trainBytes && opts.publicKey !== undefined) trainBytes = null;
  }
  const artifact = readArtifact(artifactBytes, 'model.edgeq');
  let tokenizer: Tokenizer | undefined;
  if (files.tokenizer !== undefined) tokenizer = parseTokenizer(await readSource(files.tokenizer, 'tokenizer', fo), 'tokenizer');
  else if (artifact.tokenizer) tokenizer = tokenizerFromContents(artifact.tokenizer);
  if (tokenizer && tokenizer.vocabSize !== artifact.config.vocabSize) {
    throw new EdgeqError(`the tokenizer has ${tokenizer.vocabSize} tokens but the model has a vocabulary of ${artifact.config.vocabSize}`);
  }
  return modelFromParts({ artifact, artifactBytes, modelSha, runtimeWasm: wasm, tokenizer, trainWasm: trainBytes ?? undefined, makeRuntime: opts.makeRuntime });
}

/**
 * @internal A bundle's parts, already read and checked: what loadBundle builds a model from,
 * and what the CLI (compiler/api/node.ts: files on disk, its own integrity messages) does.
 */
export interface ModelParts {
  artifact: ArtifactContents; artifactBytes: Uint8Array; runtimeWasm: Uint8Array;
  /** SHA-256 of artifactBytes (computed when absent). */
  modelSha?: Uint8Array;
  tokenizer?: Tokenizer;
  /** The training module; without it, fine-tuning and adapters run the TypeScript integer reference (same bytes). */
  trainWasm?: Uint8Array;
  /** Names model.edgeq in errors (default 'model.edgeq'). */
  artifactPath?: string;
  /** Makes the runtime (default: runtimeWasm instantiated here, one thread). */
  makeRuntime?: RuntimeMaker;
}

/**
 * @internal The model the CLI drives: the public EdgeqModel plus what `edgeq finetune` /
 * `run --adapter` / `eval --adapter` need beyond it (a resumable trainer, an adapter already
 * read and checked against its file).
 */
export interface ModelInternals extends EdgeqModel {
  /** A trainer from `config` (fresh adapter) or continuing `resume`: the one place that picks the training module or the reference. */
  trainer(config: TrainConfig, resume?: AdapterState): Promise<Trainer>;
  /** applyAdapter for an adapter already parsed and checked against this model. */
  applyAdapterState(state: AdapterState): Promise<void>;
}

/** @internal The model of already read and checked parts (loadBundle and the CLI both end here). */
export async function modelFromParts(p: ModelParts): Promise<ModelInternals> {
  const file = p.artifactPath ?? 'model.edgeq';
  const runtime = p.makeRuntime
    ? await p.makeRuntime({ runtimeWasm: p.runtimeWasm, artifact: p.artifact, artifactBytes: p.artifactBytes, file })
    : await WasmRuntime.create(p.runtimeWasm, p.artifactBytes, p.artifact.config.vocabSize, file);
  return new LoadedModel(p.artifact, p.artifactBytes, p.modelSha ?? await sha256(p.artifactBytes), runtime, p.tokenizer, p.trainWasm, file);
}

interface Manifest { files: Record<string, { size: number; sha256: string }> }

function parseManifest(bytes: Uint8Array): Manifest {
  let m: Partial<Manifest>;
  try { m = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)); } catch (e) {
    throw new EdgeqError(`manifest.json: not valid JSON: ${(e as Error).message}`);
  }
  if (!m || typeof m.files !== 'object' || m.files === null) throw new EdgeqError('manifest.json: has no "files" table (name → size, sha256)');
  return m as Manifest;
}

async function checkListed(m: Manifest, name: string, bytes: Uint8Array, known?: Uint8Array): Promise<void> {
  const want = m.files[name];
  if (!want) throw new EdgeqError(`manifest.json does not list ${name}`);
  if (bytes.length !== want.size) throw new EdgeqError(`${name}: ${bytes.length} bytes, the manifest lists ${want.size}`);
  const got = toHex(known ?? await sha256(bytes));
  if (got !== want.sha256) throw new EdgeqError(`${name}: sha256 ${got} differs from the manifest's ${want.sha256}`);
}

/** Lets the event loop run (page input, worker messages, an abort) between units of work. */
const breathe = () => new Promise<void>((r) => setTimeout(r, 0));

/** A loaded bundle (from loadBundle). One generate, evaluate or finetune at a time. */
export interface EdgeqModel {
  readonly info: ModelInfo;
  /** The tokens of `text` as llama2.c encodes a prompt (dummy-prefix space; BOS first unless `bos: false`). */
  tokenize(text: string, opts?: { bos?: boolean }): number[];
  /** The text llama2.c prints for `tokens` (the first one, normally BOS, is context only). */
  detokenize(tokens: number[]): string;
  /** Streams text continuing `prompt`. Greedy (temperature 0) output equals `edgeq run --temperature 0`. */
  generate(prompt?: string, opts?: GenerateOptions): Generation;
  /**
   * Teacher-forced logits: for each position i of `tokens`, the int32 Q16 logits (value / 2^16
   * = logit) predicting tokens[i + 1], with the adapter if one is applied. For tools. With
   * `onLogits`, each position's logits go to it instead (a view valid during the call; nothing
   * is kept, so a long text costs no memory per position) and the result is empty.
   */
  evaluate(tokens: number[], opts?: EvaluateOptions): Int32Array[];
  /**
   * Generates and evaluates with the LoRA adapter in `adapter` (bytes of an .edqa file from
   * finetune() or `edgeq finetune`, trained on this exact model.edgeq); null removes it.
   */
  applyAdapter(adapter: Uint8Array | null): Promise<void>;
  /**
   * Fine-tunes a LoRA adapter on `text` (paragraphs separated by blank lines), integers only,
   * exactly as `edgeq finetune --data <text>` with the same settings: same windows, same
   * steps, same adapter bytes. Returns the adapter; applyAdapter(result.adapter) uses it.
   */
  finetune(text: string, opts: FinetuneOptions): Promise<FinetuneResult>;
  /**
   * Ends the worker threads of a model that decodes on several (Node: loadBundleDir with
   * `threads`); the model is not usable afterwards. Nothing to do for one thread. Workers
   * never keep a process alive, so a program that exits need not call it.
   */
  close(): Promise<void>;
}

class LoadedModel implements ModelInternals {
  readonly info: ModelInfo;
  private readonly runtime: WasmRuntime;
  private readonly tok: Tokenizer | undefined;
  private readonly trainWasm: Uint8Array | undefined;
  private readonly exp2: Int16Array;
  /** The engine generate/evaluate use: the runtime, or the adapted model after applyAdapter. */
  private engine: IntEngine;
  private adapterState: AdapterState | undefined;
  private busy = false;

  constructor(
    private readonly artifact: ArtifactContents, private readonly artifactBytes: Uint8Array, private readonly modelSha: Uint8Array,
    runtime: WasmRuntime, tokenizer: Tokenizer | undefined, trainWasm: Uint8Array | undefined, private readonly file: string,
  ) {
    const c = artifact.config;
    this.runtime = runtime;
    this.tok = tokenizer;
    this.trainWasm = trainWasm;
    this.info = {
      vocabSize: c.vocabSize, seqLen: c.seqLen, dim: c.dim, hiddenDim: c.hiddenDim, nLayers: c.nLayers, nHeads: c.nHeads, nKvHeads: c.nKvHeads,
      target: artifact.target.name, plan: artifact.plan.method, sha256: toHex(modelSha), trainingModule: trainWasm !== undefined,
      threads: runtime.threads,
    };
    const t = artifact.tensors.find((x) => x.name === 'exp2');
    // The adapter engines sample on the host with it (runtime.wasm has its own copy).
    this.exp2 = t && t.dtype === 'int16' ? new Int16Array(t.data.slice().buffer) : new Int16Array(0);
    this.engine = this.baseEngine();
  }

  private baseEngine(): IntEngine {
    return wasmEngine(this.runtime, { vocabSize: this.info.vocabSize, seqLen: this.info.seqLen });
  }

  private get tokenizer(): Tokenizer {
    if (!this.tok) throw new EdgeqError('the bundle has no embedded tokenizer: load it with { tokenizer: <tokenizer.bin> } (or compile with --tokenizer)');
    return this.tok;
  }

  /** The tokens of `text` as llama2.c encodes a prompt (dummy-prefix space; BOS first unless `bos: false`). */
  tokenize(text: string, { bos = true }: { bos?: boolean } = {}): number[] {
    return this.tokenizer.encode(text, { bos });
  }

  /** The text llama2.c prints for `tokens` (the first one, normally BOS, is context only). */
  detokenize(tokens: number[]): string {
    const out = tokens.slice(1).map((t, i) => printedBytes(this.tokenizer, tokens[i], t));
    return new TextDecoder().decode(concatBytes(out));
  }

  /** Streams text continuing `prompt`. Greedy (temperature 0) output equals `edgeq run --temperature 0`. */
  generate(prompt = '', opts: GenerateOptions = {}): Generation {
    const stats: GenerationStats = { tokens: 0, positions: 0, tokensPerSecond: null };
    const self = this;
    // Timed from the end of the first step, as llama2.c (and `edgeq run`) do.
    let start: number | null = null;
    async function* run(): AsyncGenerator<GeneratedToken> {
      self.claim('generate');
      try {
        const promptTokens = self.tokenize(prompt);
        let steps: number;
        if (opts.positions !== undefined) {
          if (!Number.isInteger(opts.positions) || opts.positions < 0) throw new EdgeqError(`positions must be a whole number >= 0, got ${opts.positions}`);
          steps = clampSteps(opts.positions, self.info.seqLen);
        } else {
          const maxTokens = opts.maxTokens ?? self.info.seqLen;
          if (!Number.isInteger(maxTokens) || maxTokens < 1) throw new EdgeqError(`maxTokens must be a whole number >= 1, got ${maxTokens}`);
          steps = clampSteps(promptTokens.length - 1 + maxTokens, self.info.seqLen);
        }
        const picker = self.engine.picker(opts.temperature ?? 1, opts.topP ?? 0.9, opts.seed ?? 42);
        const it = pieces(self.engine, self.tokenizer, picker, promptTokens, steps);
        const utf8 = new TextDecoder();
        let lastBreath = performance.now();
        try {
          for (;;) {
            if (opts.signal?.aborted) break;
            const r = it.next();
            if (r.done) { stats.positions = r.value; break; }
            stats.positions++;
            start ??= performance.now();
            if (stats.positions >= promptTokens.length) stats.tokens++;
            yield { token: r.value.token, bytes: r.value.bytes, text: utf8.decode(r.value.bytes, { stream: true }) };
            if (performance.now() - lastBreath > 30) { await breathe(); lastBreath = performance.now(); }
          }
        } finally {
          // Also when the caller stops iterating (break): the stats describe what ran.
          const elapsed = start === null ? 0 : performance.now() - start;
          stats.tokensPerSecond = stats.positions > 1 && elapsed > 0 ? ((stats.positions - 1) / elapsed) * 1000 : null;
        }
      } finally {
        self.busy = false;
      }
    }
    const gen = run();
    return {
      stats,
      [Symbol.asyncIterator]: () => gen,
      async text() {
        const parts: Uint8Array[] = [];
        for await (const t of gen) parts.push(t.bytes);
        return new TextDecoder().decode(concatBytes(parts));
      },
    };
  }

  /**
   * Teacher-forced logits: for each position i of `tokens`, the int32 Q16 logits (value / 2^16
   * = logit) predicting tokens[i + 1], with the adapter if one is applied. For tools.
   */
  evaluate(tokens: number[], opts: EvaluateOptions = {}): Int32Array[] {
    if (tokens.length > this.info.seqLen) throw new EdgeqError(`${tokens.length} tokens, the model's context is ${this.info.seqLen}`);
    this.claim('evaluate');
    try {
      const out: Int32Array[] = [];
      tokens.forEach((t, pos) => {
        this.engine.forward(t, pos);
        const logits = this.adapterState ? this.adapterLogits : this.runtime.logits();
        if (opts.onLogits) opts.onLogits(logits, pos);
        else out.push(logits.slice());
      });
      return out;
    } finally { this.busy = false; }
  }
  private adapterLogits: Int32Array = new Int32Array(0);

  /**
   * Generates and evaluates with the LoRA adapter in `adapter` (bytes of an .edqa file from
   * finetune() or `edgeq finetune`, trained on this exact model.edgeq); null removes it.
   */
  async applyAdapter(adapter: Uint8Array | null): Promise<void> {
    if (adapter === null) { this.adapterState = undefined; this.engine = this.baseEngine(); return; }
    const state = parseAdapter(adapter, 'adapter');
    checkAdapterFor(state, this.modelSha, this.artifact.config, { adapter: 'adapter', base: 'this model.edgeq' });
    await this.applyAdapterState(state);
  }

  async applyAdapterState(state: AdapterState): Promise<void> {
    if (this.exp2.length === 0) throw new EdgeqError('the model has no int16 exp2 table (needed by the sampler)', { file: this.file });
    const forward = await this.adaptedForward(state);
    const config = { vocabSize: this.info.vocabSize, seqLen: this.info.seqLen };
    this.adapterState = state;
    this.engine = q16LogitsEngine(config, (token, pos) => (this.adapterLogits = forward(token, pos)), this.exp2);
  }

  private async adaptedForward(state: AdapterState): Promise<(token: number, pos: number) => Int32Array> {
    if (this.trainWasm) {
      const tr = await WasmTrainer.fromWasm(this.trainWasm, this.trainBundle(), state);
      return (token, pos) => tr.forward(token, pos);
    }
    const tr = intTrainerFromState(quantModelFromArtifact(this.artifact, this.file), state);
    return (token, pos) => tr.forward(token, pos);
  }

  private trainBundle() {
    return { artifactBytes: this.artifactBytes, artifact: this.artifact, artifactPath: this.file };
  }

  /**
   * Fine-tunes a LoRA adapter on `text` (paragraphs separated by blank lines), integers only,
   * exactly as `edgeq finetune --data <text>` with the same settings: same windows, same
   * steps, same adapter bytes. Returns the adapter; applyAdapter(result.adapter) uses it.
   */
  async finetune(text: string, opts: FinetuneOptions): Promise<FinetuneResult> {
    const d = FINETUNE_DEFAULTS;
    const config = { rank: opts.rank ?? d.rank, lr: opts.lr ?? d.lr, seqLen: opts.seqLen ?? Math.min(d.seqLen, this.info.seqLen), seed: opts.seed ?? d.seed };
    if (!Number.isInteger(opts.steps) || opts.steps < 1) throw new EdgeqError(`steps must be a whole number >= 1, got ${opts.steps}`);
    if (config.seqLen > this.info.seqLen) throw new EdgeqError(`seqLen ${config.seqLen} is longer than the model's context (${this.info.seqLen})`);
    const stream = encodeDocuments(this.tokenizer, text, 'text');
    const windows = trainingWindows(stream, config.seqLen, opts.steps, config.seed);
    this.claim('finetune');
    try {
      const trainer = await this.trainer(config);
      const losses: number[] = [];
      for (let step = 0; step < opts.steps && !opts.signal?.aborted; step++) {
        losses.push(trainer.step(windows[step]));
        opts.onProgress?.({ step: step + 1, steps: opts.steps, loss: losses[step] });
        await breathe();
      }
      const adapter = adapterBytes(trainer.state(), 'adapter');
      return { adapter, sha256: toHex(await sha256(adapter)), losses, steps: losses.length };
    } finally { this.busy = false; }
  }

  async trainer(config: TrainConfig, resume?: AdapterState): Promise<Trainer> {
    const state = resume ?? initialAdapterState(this.artifact.config, config, this.modelSha);
    if (!this.trainWasm) return createIntReferenceTrainer(quantModelFromArtifact(this.artifact, this.file), state);
    const tr = await WasmTrainer.fromWasm(this.trainWasm, this.trainBundle(), state);
    return meanLossTrainer(tr, state.step, (step) => stateFromBlock(this.artifact, state, tr.stateView().slice(), step), () => tr.ex.peak_bytes() >>> 0);
  }

  async close(): Promise<void> {
    await this.runtime.close();
  }

  /** One thing at a time: generation, evaluation and training share the runtime's memory. */
  private claim(what: string): void {
    if (this.busy) throw new EdgeqError(`${what}: the model is busy (one generate, evaluate or finetune at a time)`);
    this.busy = true;
  }
}

