// The threaded flavour's coordination (compiled only into it; compiler/codegen/threads.ts
// generates the rest of its entry). One instance of the runtime per thread, all over one
// shared memory: the host's thread (slot 0) runs the program as usual and hands each GEMV
// out as a job — its output rows cut into chunks that every thread, slot 0 included, claims
// one at a time. Each row is computed by exactly the code one thread runs, so the bytes
// are the same whoever computes which chunk. Claiming (rather than a fixed share per
// thread) means a worker the OS has not scheduled delays nothing but a chunk it already
// took: on a busy machine slot 0 does the rest itself.
//
// The control block lives in shared memory; everything else an instance keeps (the loaded
// model's globals, the heap pointer) is per instance, so only slot 0 ever loads or
// allocates: workers read the op records slot 0 resolved, and their kernels' static
// scratch is their own (runtime/kernels/scalar/thread-slot.ts).
//
// A job: slot 0 closes next (= job number << 32 | CLOSED), writes the parameters and
// done = 0, then opens it by storing next = (job number << 32 | chunk 0) and bumping
// `generation`, which sleeping workers wait on. A thread claims chunk c by compare-and-swap of next from (job, c) to (job, c + 1):
// the swap fails if the job changed since it read next, so the parameters it read after
// next are that job's, and they stay valid while it runs the chunk (slot 0 publishes the
// next job only once done = chunks). A failing worker's host calls threads_fail, which
// wakes slot 0 from its wait; forward() then returns ERR_THREAD_FAILED. Sleeping and waking
// go through ./thread-wait.ts (the host's futex on wasm2c hosts).
import { waitWhile, wake } from "./thread-wait";

const CTRL: usize = memory.data(64, 16);
const NEXT: usize = 0; // i64: job number << 32 | next unclaimed chunk
const GENERATION: usize = 8; // low 32 bits of the job number, for futex waits
const DONE: usize = 12; // chunks finished
const KIND: usize = 16;
const RECORD: usize = 20;
const ROWS: usize = 24;
const ALIGN: usize = 28;
const CHUNK_ROWS: usize = 32;
const CHUNKS: usize = 36;
const THREADS: usize = 40;
const STOP: usize = 44;
const FAILED: usize = 48;
/** NEXT's chunk while slot 0 writes a job's parameters: past any chunk count, so nothing is claimed. */
const CLOSED: i64 = 0x7fffffff;
/**
 * Polls before sleeping (an atomic load is a plain load on x86, ~1 ns): about a millisecond
 * for both the worker waiting for the next job (across a layer's attention, which slot 0
 * runs alone) and slot 0 waiting for the chunks workers still run. A futex wake-up costs
 * tens of microseconds in a VM, and a 110M token hands out ~85 GEMVs, so sleeping between
 * them ate most of the gain: on this project's idle 2-core machine (npm run bench --
 * threads, 2026-12-06) 2 threads gave 1.14x (int8) / 1.22x (4-bit) one thread with polls
 * of 2^15 / 2^10, 1.29x / 1.45x with 2^20 / 2^10, and 1.61x / 1.71x with 2^20 / 2^20.
 * The price is on a busy machine: a thread polling for one the OS has descheduled burns
 * the time that one needs (0.6x at these polls under load 7-14) — there `--threads 1`.
 */
const WORKER_SPIN: i32 = 1 << 20;
const JOIN_SPIN: i32 = 1 << 20;
/** Chunks per thread: small enough to even out unequal speeds, few enough to claim cheaply. */
const CHUNKS_PER_THREAD: i32 = 4;

let jobs: i64 = 0; // slot 0's job counter

/** ABI threads_start(n): n threads take part from now on (slot 0 and n - 1 workers). */
export function threads_start(n: i32): void { atomic.store<i32>(CTRL + THREADS, n); }

/** ABI threads_stop(): every worker returns from thread_work. */
export function threads_stop(): void {
  atomic.store<i32>(CTRL + STOP, 1);
  atomic.add<i32>(CTRL + GENERATION, 1);
  wake(CTRL + GENERATION, -1);
}

/** ABI threads_fail(): a worker's host saw it fail; slot 0 stops waiting (forward fails). */
export function threads_fail(): void {
  atomic.store<i32>(CTRL + FAILED, 1);
  atomic.add<i32>(CTRL + DONE, 1 << 30); // changes the value slot 0 sleeps on
  wake(CTRL + DONE, -1);
}

/** Slot 0: publishes op `r` of `kind` (`rows` output rows, chunks a multiple of `align`) and wakes the workers. */
export function publishJob(kind: u32, r: usize, rows: i32, align: i32): void {
  const units = (rows + align - 1) / align;
  let chunks = atomic.load<i32>(CTRL + THREADS) * CHUNKS_PER_THREAD;
  if (chunks > units) chunks = units;
  const chunkUnits = (units + chunks - 1) / chunks;
  jobs++;
  // Closed first: a claimer that read the last job's NEXT fails its swap from here on, so no
  // chunk of it can be claimed while the parameters below change (one could before: a
  // claimer holding (last job, c) saw the new CHUNKS, swapped, ran rows of the new job and
  // counted one chunk too many into DONE, and slot 0 waited for ever).
  atomic.store<i64>(CTRL + NEXT, (jobs << 32) | CLOSED);
  atomic.store<u32>(CTRL + KIND, kind);
  atomic.store<u32>(CTRL + RECORD, <u32>r);
  atomic.store<i32>(CTRL + ROWS, rows);
  atomic.store<i32>(CTRL + CHUNK_ROWS, chunkUnits * align);
  atomic.store<i32>(CTRL + CHUNKS, (units + chunkUnits - 1) / chunkUnits);
  atomic.store<i32>(CTRL + DONE, 0);
  atomic.store<i64>(CTRL + NEXT, jobs << 32);
  atomic.store<i32>(CTRL + GENERATION, <i32>jobs);
  wake(CTRL + GENERATION, -1);
}

/**
 * Any thread: claims the current job's next chunk; its first row, or -1 when none is
 * left. The job's parameters (jobKind ... chunkEnd) may be read until the chunk is finished.
 */
export function claimChunk(): i32 {
  let lo = -1;
  while (lo < 0) {
    const w = atomic.load<i64>(CTRL + NEXT);
    const c = <i32>(w & 0xffffffff);
    if (c >= atomic.load<i32>(CTRL + CHUNKS)) return -1;
    if (atomic.cmpxchg<i64>(CTRL + NEXT, w, w + 1) == w) lo = c * atomic.load<i32>(CTRL + CHUNK_ROWS);
  }
  return lo;
}

export function jobKind(): u32 { return atomic.load<u32>(CTRL + KIND); }
export function jobRecord(): usize { return <usize>atomic.load<u32>(CTRL + RECORD); }
/** The end of the chunk that starts at row `lo`. */
export function chunkEnd(lo: i32): i32 {
  const hi = lo + atomic.load<i32>(CTRL + CHUNK_ROWS), rows = atomic.load<i32>(CTRL + ROWS);
  return hi < rows ? hi : rows;
}

/** Any thread: a claimed chunk is finished. */
export function finishChunk(): void {
  if (atomic.add<i32>(CTRL + DONE, 1) + 1 == atomic.load<i32>(CTRL + CHUNKS)) wake(CTRL + DONE, 1);
}

/** Slot 0: waits until every chunk is finished; false when a worker failed. */
export function joinJob(): bool {
  const chunks = atomic.load<i32>(CTRL + CHUNKS);
  let d = atomic.load<i32>(CTRL + DONE);
  for (let i = 0; d != chunks && atomic.load<i32>(CTRL + FAILED) == 0; i++) {
    if (i >= JOIN_SPIN) waitWhile(CTRL + DONE, d);
    d = atomic.load<i32>(CTRL + DONE);
  }
  return atomic.load<i32>(CTRL + FAILED) == 0;
}

/** Worker: waits for a job after generation `seen`; its generation, or -1 when stopped. */
export function awaitJob(seen: i32): i32 {
  let g = atomic.load<i32>(CTRL + GENERATION);
  for (let i = 0; g == seen; i++) {
    if (i >= WORKER_SPIN) waitWhile(CTRL + GENERATION, seen);
    g = atomic.load<i32>(CTRL + GENERATION);
  }
  return atomic.load<i32>(CTRL + STOP) != 0 ? -1 : g;
}
