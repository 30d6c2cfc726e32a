// The clip search (lowbit.ts) on more than one core, for `edgeq compile` (Node only; the
// browser API keeps the one-thread search). Rows of a matrix are independent, so the
// matrix goes into shared memory and this thread and worker threads take chunks of rows
// from a shared counter until none are left; each row's results land in its own slots, so
// the bytes are the same whoever computed a row and however many threads there are.
// The caller stays synchronous: this thread waits for the workers with Atomics.wait.
import { Worker, parentPort } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { lowbitRows, quantizeRowsInto, runRowsHere, type LowbitRowRunner, type LowbitRows } from './lowbit.ts';
import type { LowBits } from './lowbit-format.ts';

/** Rows per chunk: small enough to balance two threads, large enough to amortize the counter. */
const CHUNK = 8;
/** Matrices below this many weights are searched here (a worker's start costs more). */
const MIN_SHARED = 1 << 16;

// Control words (Int32Array on a SharedArrayBuffer).
const NEXT = 0, DONE = 1, FAILED = 2;

/** One matrix for the workers: shared buffers and what quantizeRowsInto needs. */
export interface LowbitTask {
  w: Float32Array; out: LowbitRows; ctrl: Int32Array;
  rows: number; cols: number; bits: LowBits; groupSize: number; ratios: number[];
}

/** Takes chunks of rows until none are left (this thread and every worker run this). */
export function workOn(t: LowbitTask): void {
  for (;;) {
    const r0 = Atomics.add(t.ctrl, NEXT, CHUNK);
    if (r0 >= t.rows) return;
    const r1 = Math.min(t.rows, r0 + CHUNK);
    try {
      quantizeRowsInto(t.w, t.cols, t.bits, t.groupSize, t.ratios, r0, r1, t.out);
    } catch {
      Atomics.store(t.ctrl, FAILED, 1); // this thread redoes the matrix alone
    }
    Atomics.add(t.ctrl, DONE, r1 - r0);
    Atomics.notify(t.ctrl, DONE);
  }
}

/** A worker's side: every matrix posted to it. */
export function lowbitWorker(): void {
  parentPort!.on('message', (t: LowbitTask) => workOn(t));
}

export interface LowbitPool {
  run: LowbitRowRunner;
  /** Stops the workers. */
  close(): Promise<void>;
}

/** A pool of `threads` - 1 workers (started on the first large matrix) plus this thread. */
export function lowbitPool(threads = availableParallelism()): LowbitPool {
  let workers: Worker[] | null = null;
  const scratch = new Scratch();
  const start = () => Array.from({ length: Math.max(0, threads - 1) }, () => {
    const wk = new Worker(new URL('../util/ts-worker.mjs', import.meta.url), { workerData: { module: import.meta.url, entry: 'lowbitWorker' } });
    wk.unref(); // an idle pool never keeps the process alive
    wk.on('error', () => {}); // a worker that cannot start just takes no rows
    return wk;
  });
  const run: LowbitRowRunner = (w, rows, cols, bits, gs, ratios) => {
    if (threads <= 1 || rows * cols < MIN_SHARED || rows <= CHUNK) return runRowsHere(w, rows, cols, bits, gs, ratios);
    workers ??= start();
    // Shared memory is reused from matrix to matrix (fresh buffers each time pile up
    // outside the JavaScript heap faster than the collector frees them). A fresh control
    // block per matrix: a worker that only now reads an old task finds its rows all taken.
    scratch.used = 0;
    const shared = new Float32Array(scratch.take(w.byteLength), 0, w.length);
    shared.set(w);
    const t: LowbitTask = {
      w: shared, out: lowbitRows(rows, cols, gs, (n) => scratch.take(n)), ctrl: new Int32Array(new SharedArrayBuffer(12)),
      rows, cols, bits, groupSize: gs, ratios: [...ratios],
    };
    for (const wk of workers) wk.postMessage(t);
    workOn(t);
    // A worker holding a chunk finishes it; one that never started holds none.
    for (let d; (d = Atomics.load(t.ctrl, DONE)) < rows;) Atomics.wait(t.ctrl, DONE, d);
    if (Atomics.load(t.ctrl, FAILED)) return runRowsHere(w, rows, cols, bits, gs, ratios);
    // Plain copies of what the model keeps (scales); the rest is packed and dropped.
    return { ...t.out, scaleM: t.out.scaleM.slice(), scaleE: t.out.scaleE.slice() };
  };
  return { run, close: async () => { if (workers) await Promise.all(workers.map((wk) => wk.terminate())); workers = null; } };
}

/**
 * Shared buffers handed out in turn (take) and reused after `used = 0`; each buffer keeps
 * the largest size asked for in its turn. Views start at offset 0 and are zeroed, as fresh
 * buffers would be (lowbitRows' callers rely on zero-filled codes).
 */
class Scratch {
  private bufs: SharedArrayBuffer[] = [];
  used = 0;
  take(bytes: number): SharedArrayBuffer {
    const i = this.used++;
    if (!this.bufs[i] || this.bufs[i].byteLength < bytes) this.bufs[i] = new SharedArrayBuffer(Math.max(8, bytes));
    else new Uint8Array(this.bufs[i], 0, bytes).fill(0);
    return this.bufs[i];
  }
}
