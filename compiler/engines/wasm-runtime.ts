// The Node/V8 host of a bundle's runtime.wasm: instantiates it, places the artifact in
// its memory once, and wraps the exports of docs/runtime-abi.md in a typed API.
// The runtime only ever returns error codes; this is where codes become messages.
import { EdgeqError } from '../util/errors.ts';
import { VerifyError } from '../../schemas/generated/edgeq/fb/verify-error.ts';
import { verifyErrorMessage } from '../emit/verify-errors.ts';

/** The exports of docs/runtime-abi.md, as V8 gives them to JavaScript. */
export interface RuntimeExports {
  memory: WebAssembly.Memory;
  reserve(len: number): number;
  load(len: number): number;
  load_at(ptr: number, len: number): number;
  forward(token: number, pos: number): number;
  logits(): number;
  logits_hash(): bigint;
  argmax(): number;
  seed(lo: number, hi: number): void;
  sample(temperatureQ: number, toppQ: number): number;
  decode(prev: number, token: number): number;
  text(): number;
  bos(): number;
  eos(): number;
  tokenizerKind(): number;
  selftest(): number;
  /** The threaded flavour only (compiler/codegen/threads.ts, runtime/assembly/threads.ts). */
  threads_start?(n: number): void;
  threads_stop?(): void;
  threads_fail?(): void;
}

/**
 * What a threaded runtime (compiler/engines/threaded-runtime.ts) adds to instantiation: the
 * shared memory every instance imports, and the workers, started after this instance is
 * made and before the artifact is loaded (their instantiation re-writes the module's data
 * segments, which must not happen once the runtime is in use).
 */
export interface ThreadSetup {
  memory: WebAssembly.Memory;
  start(module: WebAssembly.Module): Promise<ThreadPool>;
}

/** The running workers of a threaded runtime. */
export interface ThreadPool {
  /** Threads in all, this one included. */
  readonly threads: number;
  /** A failed worker's error (written by the worker before it flags the failure), or null. */
  failure(): string | null;
  /** Stops and ends every worker (idempotent). */
  close(): Promise<void>;
}

/**
 * Codes the runtime returns besides the verifier's (runtime/assembly/errors.ts,
 * docs/runtime-abi.md).
 */
export const RUNTIME_ERRORS: Record<number, string> = {
  64: 'not loaded: load() has not succeeded',
  65: 'token outside the vocabulary',
  66: 'position outside the context (seq_len)',
  67: 'out of memory: the arena is larger than the one this runtime was generated for, or the arena and scratch do not fit',
  68: "bad program: an op's operands or params do not match its kernel",
  69: 'unsupported op: the program uses an op kind this runtime was not generated with',
  70: "config mismatch: the artifact's model config differs from the one this runtime was generated for",
  71: 'training not ready: train_init has not succeeded (docs/runtime-abi.md, Training)',
  72: 'bad training parameters: r_pad must be a positive multiple of 16 (at most 1024), seq_len within the model context, the rng state nonzero, dim and kv dim multiples of 16',
  73: 'bad token count: train_step needs seq_len + 1 tokens, train_loss 2 .. model seq_len + 1',
  74: 'a worker thread of the threaded runtime failed (its error was reported first); the runtime cannot run on',
};

/** Words for any code load() or forward() returns. */
export function runtimeErrorMessage(code: number): string {
  if (RUNTIME_ERRORS[code]) return `${RUNTIME_ERRORS[code]} (code ${code})`;
  const name = (VerifyError as unknown as Record<number, string>)[code];
  return name ? `${verifyErrorMessage(code)} (code ${code})` : `error code ${code}`;
}

export class WasmRuntime {
  readonly vocabSize: number;
  /** Position → hash lines reported through host.print by the last selftest(). */
  private printed: Array<[number, bigint]> = [];
  private readonly ex: RuntimeExports;
  private readonly pool: ThreadPool | undefined;
  private readonly memory: WebAssembly.Memory;

  private constructor(ex: RuntimeExports, vocabSize: number, memory: WebAssembly.Memory, pool?: ThreadPool) {
    this.ex = ex;
    this.vocabSize = vocabSize;
    this.memory = memory;
    this.pool = pool;
  }

  /**
   * Instantiates `wasm` and loads `artifact` into it. `file` names the artifact in errors.
   * With `threads`, the threaded flavour over a shared memory, with its workers.
   */
  static async create(wasm: Uint8Array, artifact: Uint8Array, vocabSize: number, file = 'model.edgeq', threads?: ThreadSetup): Promise<WasmRuntime> {
    let self: WasmRuntime | undefined;
    const imports = {
      host: { print: (pos: number, hash: bigint) => { self?.printed.push([pos, hash]); } },
      ...(threads ? { env: { memory: threads.memory } } : {}),
    };
    const module = await WebAssembly.compile(new Uint8Array(wasm));
    const instance = await WebAssembly.instantiate(module, imports);
    const ex = instance.exports as unknown as RuntimeExports;
    const pool = threads ? await threads.start(module) : undefined;
    self = new WasmRuntime(ex, vocabSize, threads?.memory ?? ex.memory, pool);
    try {
      if (pool) ex.threads_start!(pool.threads);
      const ptr = ex.reserve(artifact.length);
      if (ptr === 0) throw new EdgeqError(`the runtime could not reserve ${artifact.length} bytes of memory for the artifact`, { file });
      new Uint8Array(self.memory.buffer, ptr, artifact.length).set(artifact);
      const code = ex.load(artifact.length);
      if (code !== 0) throw new EdgeqError(`the runtime's verifier rejected the artifact: ${runtimeErrorMessage(code)}`, { file });
    } catch (e) {
      await self.close();
      throw e;
    }
    return self;
  }

  /** Threads this runtime decodes on (1 unless it is the threaded flavour). */
  get threads(): number { return this.pool?.threads ?? 1; }

  /** Ends a threaded runtime's workers (nothing to do for one thread); the runtime is not usable after. */
  async close(): Promise<void> {
    if (!this.pool) return;
    this.ex.threads_stop!();
    await this.pool.close();
  }

  /** Runs one position; logits() then views its int32 logits. */
  forward(token: number, pos: number): void {
    const code = this.ex.forward(token, pos);
    if (code !== 0) {
      const why = this.pool?.failure();
      throw new EdgeqError(`runtime forward(token ${token}, position ${pos}) failed: ${runtimeErrorMessage(code)}${why ? `: ${why}` : ''}`);
    }
  }

  /** A view of the last logits (valid until the next call into the runtime). */
  logits(): Int32Array {
    return new Int32Array(this.memory.buffer, this.ex.logits(), this.vocabSize);
  }

  logitsHash(): bigint { return BigInt.asUintN(64, this.ex.logits_hash()); }
  argmax(): number { return this.ex.argmax(); }
  seed(seed: bigint): void { this.ex.seed(Number(seed & 0xffffffffn) | 0, Number((seed >> 32n) & 0xffffffffn) | 0); }
  sample(temperatureQ: number, toppQ: number): number { return this.ex.sample(temperatureQ, toppQ); }

  /** The bytes llama2.c would print for `token` after `prev`, decoded on the device. */
  /** The artifact tokenizer's BOS / EOS ids (1 / 2 without one, as llama2.c); -1: none. */
  bos(): number { return this.ex.bos(); }
  eos(): number { return this.ex.eos(); }
  decode(prev: number, token: number): Uint8Array {
    const n = this.ex.decode(prev, token);
    return new Uint8Array(this.memory.buffer, this.ex.text(), n).slice();
  }

  /** Runs the embedded conformance vectors; returns mismatches and the reported hashes. */
  selftest(): { mismatches: number; hashes: Array<[number, bigint]> } {
    this.printed = [];
    const mismatches = this.ex.selftest();
    return { mismatches, hashes: this.printed.map(([p, h]) => [p, BigInt.asUintN(64, h)]) };
  }
}
