// The int8 GEMVs of the conformance vectors' forward passes (from-quant.ts
// greedyConformance) on two threads: the largest share of an int8 compile's time (the
// classifier alone is 32000 rows). Rows of a GEMV are independent, each is computed by
// gemvQ8 itself (on a row range) and lands in its own slot, so the results are the ones
// one thread computes, whoever took which rows. Weights must be on SharedArrayBuffers
// (quantizeRows' `shared`); a matrix that is not, a small GEMV, or a worker that has not
// started yet, is computed here alone. Synchronous for the caller: Atomics.wait.
//
// One call: this thread writes the input and parameters, opens call `seq` (STATE = 2 seq),
// wakes the worker (SEQ = seq) and takes chunks of rows from NEXT; the worker joins only by
// turning STATE from 2 seq into 2 seq + 1, and leaves by ACK = seq. When all rows are done
// this thread closes the call (STATE 2 seq -> -1): a worker that never joined cannot join
// late; one that joined is waited for, so no worker is inside a call when the next begins.
import { Worker, parentPort, workerData } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { gemvQ8 } from '../../runtime/kernels/reference/gemv_q8.ts';

/** GEMVs smaller than this (multiply-adds) are not worth a round trip to the worker. */
const MIN_MACS = 1 << 18;
const CHUNK_ROWS = 64;
// Control words.
const SEQ = 0, STATE = 1, ACK = 2, NEXT = 3, ROWS_DONE = 4, READY = 5, ID = 6, XM = 7, XE = 8, FRAC = 9, N = 10, D = 11;
const WORDS = 12;

interface Mat { q: Int8Array; m: Int16Array; e: Int8Array }
interface Init { mats: Mat[]; ctrl: Int32Array; x: Int16Array; out: Int32Array }

/** Takes chunks of rows of the open call until none are left (both threads). */
function rowsOf(s: Init): void {
  const c = s.ctrl, w = s.mats[c[ID]], n = c[N], d = c[D], xM = c[XM], xE = c[XE], frac = c[FRAC];
  for (;;) {
    const r0 = Atomics.add(c, NEXT, CHUNK_ROWS);
    if (r0 >= d) return;
    const r1 = Math.min(d, r0 + CHUNK_ROWS);
    gemvQ8(s.out.subarray(r0, r1), w.q.subarray(r0 * n, r1 * n), w.m.subarray(r0, r1), w.e.subarray(r0, r1), s.x, xM, xE, n, r1 - r0, frac);
    Atomics.add(c, ROWS_DONE, r1 - r0);
    Atomics.notify(c, ROWS_DONE);
  }
}

/** The worker: joins each call it can, until SEQ < 0. */
export function conformanceWorker(): void {
  parentPort!.once('message', (s: Init) => {
    const c = s.ctrl;
    Atomics.store(c, READY, 1);
    for (let last = 0; ;) {
      Atomics.wait(c, SEQ, last);
      const seq = Atomics.load(c, SEQ);
      if (seq < 0) return;
      last = seq;
      if (Atomics.compareExchange(c, STATE, 2 * seq, 2 * seq + 1) !== 2 * seq) continue;
      rowsOf(s);
      Atomics.store(c, ACK, seq);
      Atomics.notify(c, ACK);
    }
  });
}

export interface GemvPool {
  /** gemvQ8's signature and results. */
  gemvQ8: typeof gemvQ8;
  /** Has the worker started (before, every GEMV is computed here)? */
  ready(): boolean;
  close(): Promise<void>;
}

/** A worker for the int8 GEMVs of `mats` (those with shared weights), or null when there is one core. */
export function gemvPool(mats: Mat[], threads = availableParallelism(), minMacs = MIN_MACS): GemvPool | null {
  const shared = mats.filter((w) => w.q.buffer instanceof SharedArrayBuffer && w.q.length > 0);
  if (threads < 2 || shared.length === 0) return null;
  const ids = new Map(shared.map((w, i) => [w.q, i]));
  const maxCols = Math.max(...shared.map((w) => w.q.length / w.m.length)), maxRows = Math.max(...shared.map((w) => w.m.length));
  const s: Init = {
    mats: shared, ctrl: new Int32Array(new SharedArrayBuffer(4 * WORDS)),
    x: new Int16Array(new SharedArrayBuffer(2 * maxCols)), out: new Int32Array(new SharedArrayBuffer(4 * maxRows)),
  };
  const c = s.ctrl;
  const worker = new Worker(new URL('../util/ts-worker.mjs', import.meta.url), { workerData: { module: import.meta.url, entry: 'conformanceWorker' } });
  worker.unref();
  worker.on('error', () => {}); // a worker that cannot start never joins a call
  worker.postMessage(s);
  let seq = 0;
  const gemv: typeof gemvQ8 = (out, w, wM, wE, x, xM, xE, n, d, outFrac) => {
    const id = ids.get(w);
    if (id === undefined || n * d < minMacs || !Atomics.load(c, READY)) { gemvQ8(out, w, wM, wE, x, xM, xE, n, d, outFrac); return; }
    seq++;
    s.x.set(x.subarray(0, n));
    c[ID] = id; c[XM] = xM; c[XE] = xE; c[FRAC] = outFrac; c[N] = n; c[D] = d;
    Atomics.store(c, NEXT, 0); Atomics.store(c, ROWS_DONE, 0);
    Atomics.store(c, STATE, 2 * seq);
    Atomics.store(c, SEQ, seq);
    Atomics.notify(c, SEQ);
    rowsOf(s);
    for (let v; (v = Atomics.load(c, ROWS_DONE)) < d;) Atomics.wait(c, ROWS_DONE, v);
    if (Atomics.compareExchange(c, STATE, 2 * seq, -1) !== 2 * seq) {
      for (let v; (v = Atomics.load(c, ACK)) !== seq;) Atomics.wait(c, ACK, v);
    }
    out.set(s.out.subarray(0, d));
  };
  return {
    gemvQ8: gemv,
    ready: () => Atomics.load(c, READY) === 1,
    close: async () => { Atomics.store(c, SEQ, -1); Atomics.notify(c, SEQ); await worker.terminate(); },
  };
}
