// The Node host of the threaded V8 flavour (compiler/codegen/threads.ts): a shared
// WebAssembly.Memory, this thread's instance (slot 0, the WasmRuntime every caller uses)
// and N - 1 worker threads (./thread-worker.mjs), each with its own instance over the same
// memory. Workers never keep the process alive (unref'd once running), are ended by
// close(), and a worker that fails makes the next forward() throw with its error.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { EdgeqError } from '../util/errors.ts';
import { loadTarget } from '../target/profile.ts';
import { MAX_THREADS, THREADED_MEMORY } from '../codegen/threads.ts';
import type { Bundle } from './engine.ts';
import { isSimdRuntime, runtimeFlavour } from './runtime-flavour.ts';
import { WasmRuntime, type ThreadPool } from './wasm-runtime.ts';

/** Bytes of the buffer a failing worker writes its error into (int32 length, then UTF-8). */
const ERROR_BYTES = 4096;

/** Threads the threaded conformance engines (v8-threads, wasm2c-*-threads) run: more than this machine's two cores, so chunks are claimed unevenly too. */
export const VERIFY_THREADS = 3;

/** `threads` as a thread count, or an error saying what is accepted. */
export function checkThreads(threads: number): number {
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS) {
    throw new EdgeqError(`threads must be a whole number from 1 to ${MAX_THREADS}, got ${threads}`);
  }
  return threads;
}

/**
 * Below this many bytes of model.edgeq, `edgeq run` decodes on one thread unless told
 * otherwise: each GEMV then takes microseconds, no more than handing it out and waking a
 * worker does (stories260K, 0.3 MB: 0.8x at 2 threads, docs/benchmarks.md#threads), and the
 * threaded flavour would first have to be built.
 */
export const THREADS_MIN_MODEL_BYTES = 16 << 20;

/**
 * `edgeq run`'s thread count when --threads is not given: 1 for a board's bundle (`target`
 * with a board: firmware runs one thread, and so does its bundle here), else every core (at
 * most MAX_THREADS) for a model of THREADS_MIN_MODEL_BYTES or more, else 1.
 */
export function defaultThreads(modelBytes: number, target?: string): number {
  if (target !== undefined && isBoardTarget(target)) return 1;
  return modelBytes >= THREADS_MIN_MODEL_BYTES ? Math.min(availableParallelism(), MAX_THREADS) : 1;
}

function isBoardTarget(name: string): boolean {
  try { return loadTarget(name).board !== undefined; } catch { return false; }
}

/**
 * Starts `threads - 1` workers over `memory`, each instantiating `module`; resolves once
 * every one is ready (rejects, with every worker ended, when one is not).
 */
export async function startWorkers(module: WebAssembly.Module, memory: WebAssembly.Memory, threads: number): Promise<ThreadPool> {
  const errors = new SharedArrayBuffer(ERROR_BYTES);
  const workers: Worker[] = [];
  let closing: Promise<void> | undefined;
  const close = () => (closing ??= Promise.all(workers.map((w) => w.terminate())).then(() => undefined));
  const ready: Array<Promise<void>> = [];
  for (let slot = 1; slot < threads; slot++) {
    // execArgv [] : the worker is plain JavaScript, it needs none of this process's loaders.
    const w = new Worker(new URL('./thread-worker.mjs', import.meta.url), { workerData: { module, memory, slot, errors }, execArgv: [] });
    workers.push(w);
    ready.push(new Promise<void>((resolve, reject) => {
      w.once('message', (m: { ready?: boolean; failed?: string }) => (m.ready ? resolve() : reject(new EdgeqError(m.failed ?? `worker thread ${slot} failed to start`))));
      w.once('error', (e) => reject(new EdgeqError(`worker thread ${slot} failed: ${e.message}`)));
      w.once('exit', (code) => reject(new EdgeqError(`worker thread ${slot} exited (code ${code}) before it was ready`)));
    }));
  }
  try {
    await Promise.all(ready);
  } catch (e) {
    await close();
    throw e;
  }
  // From here the workers wait inside WebAssembly for jobs: they must not hold the process.
  for (const w of workers) w.unref();
  return {
    threads,
    failure() {
      const n = Atomics.load(new Int32Array(errors), 0);
      return n > 0 ? new TextDecoder().decode(new Uint8Array(errors, 4, n)) : null;
    },
    close,
  };
}

/**
 * The bundle's runtime on `threads` threads: its threaded flavour (SIMD kernels when the
 * bundle's runtime is the SIMD build; built once and cached by content) with its workers.
 * `say` is told when the flavour has to be built. close() ends the workers.
 */
export async function threadedRuntime(bundle: Pick<Bundle, 'runtimeWasm' | 'contents'>, artifact: Uint8Array, threads: number, file = 'model.edgeq', say?: (msg: string) => void): Promise<WasmRuntime> {
  checkThreads(threads);
  const simd = isSimdRuntime(bundle.runtimeWasm);
  const rt = await runtimeFlavour(bundle, simd, 'v8', () => say?.(`building the threaded runtime (${simd ? 'SIMD' : 'scalar'} kernels; cached for next time)`));
  const memory = new WebAssembly.Memory({ initial: THREADED_MEMORY.initial, maximum: THREADED_MEMORY.maximum, shared: true });
  return WasmRuntime.create(rt.wasm, artifact, bundle.contents.config.vocabSize, file, { memory, start: (module) => startWorkers(module, memory, threads) });
}
