// The threaded V8 flavour's coordination (compiled only into it; compiler/codegen/threads.ts
// generates the rest of its entry). One instance of the runtime per thread, all over one
// shared memory: the host's thread (slot 0) runs the program as usual and hands each GEMV
// to every thread as a job — contiguous output rows per thread, computed by exactly the
// code one thread runs, so the bytes are the same. Workers (slots 1..T-1) sit in
// thread_work (the generated entry), waiting on the job generation.
//
// The control block lives in shared memory; everything else an instance keeps (the loaded
// model's globals, the heap pointer) is per instance, so only slot 0 ever loads or
// allocates: workers read the op records slot 0 resolved, and their kernels' static
// scratch is their own (runtime/kernels/scalar/thread-slot.ts).
//
// Protocol (all accesses to the block are atomic):
//   slot 0:  pending = T - 1; job = (kind, record, rows, align); generation += 1; notify
//            generation; run its own share; wait until pending == 0 (or < 0: a worker failed).
//   worker:  wait until generation != the last one seen (or stop); run its share;
//            pending -= 1, and notify pending when it reached 0.
// A host that sees a worker fail (an exception out of thread_work) calls threads_fail, which
// makes pending negative and notifies it, so slot 0 stops waiting and forward() returns
// ERR_THREAD_FAILED.

const CTRL: usize = memory.data(64, 16);
const GENERATION: usize = 0;
const PENDING: usize = 4;
const KIND: usize = 8;
const RECORD: usize = 12;
const ROWS: usize = 16;
const ALIGN: usize = 20;
const THREADS: usize = 24;
const STOP: usize = 28;
/** Polls of a value before sleeping on it: a job follows the last one within microseconds. */
const SPIN: i32 = 20000;

/** ABI threads_start(n): n threads take part from now on (slot 0 and n - 1 workers). */
export function threads_start(n: i32): void { atomic.store<i32>(CTRL + THREADS, n); }

/** ABI threads_stop(): every worker returns from thread_work. */
export function threads_stop(): void {
  atomic.store<i32>(CTRL + STOP, 1);
  atomic.add<i32>(CTRL + GENERATION, 1);
  atomic.notify(CTRL + GENERATION, -1);
}

/** ABI threads_fail(): a worker's host saw it fail; slot 0 stops waiting (forward fails). */
export function threads_fail(): void {
  atomic.store<i32>(CTRL + PENDING, -(1 << 30));
  atomic.notify(CTRL + PENDING, -1);
}

/** Slot 0: publishes op `r` of `kind` (`rows` output rows, split at multiples of `align`) and wakes the workers. */
export function publishJob(kind: u32, r: usize, rows: i32, align: i32): void {
  atomic.store<i32>(CTRL + PENDING, atomic.load<i32>(CTRL + THREADS) - 1);
  atomic.store<u32>(CTRL + KIND, kind);
  atomic.store<u32>(CTRL + RECORD, <u32>r);
  atomic.store<i32>(CTRL + ROWS, rows);
  atomic.store<i32>(CTRL + ALIGN, align);
  atomic.add<i32>(CTRL + GENERATION, 1);
  atomic.notify(CTRL + GENERATION, -1);
}

/** Slot 0: waits for every worker's share; false when a worker failed. */
export function joinJob(): bool {
  let p = atomic.load<i32>(CTRL + PENDING);
  for (let i = 0; p > 0; i++) {
    if (i >= SPIN) memory.atomic.wait32(CTRL + PENDING, p, -1);
    p = atomic.load<i32>(CTRL + PENDING);
  }
  return p == 0;
}

/** Worker: waits for a job after generation `seen`; its generation, or -1 when stopped. */
export function awaitJob(seen: i32): i32 {
  let g = atomic.load<i32>(CTRL + GENERATION);
  for (let i = 0; g == seen; i++) {
    if (i >= SPIN) memory.atomic.wait32(CTRL + GENERATION, seen, -1);
    g = atomic.load<i32>(CTRL + GENERATION);
  }
  return atomic.load<i32>(CTRL + STOP) != 0 ? -1 : g;
}

/** Worker: its share is done. */
export function finishShare(): void {
  if (atomic.sub<i32>(CTRL + PENDING, 1) == 1) atomic.notify(CTRL + PENDING, 1);
}

export function jobKind(): u32 { return atomic.load<u32>(CTRL + KIND); }
export function jobRecord(): usize { return <usize>atomic.load<u32>(CTRL + RECORD); }

/**
 * First row of slot `slot`'s share of the current job (slot = T: the end): the rows in
 * units of `align`, split as evenly as whole units allow.
 */
export function shareStart(slot: i32): i32 {
  const rows = atomic.load<i32>(CTRL + ROWS), align = atomic.load<i32>(CTRL + ALIGN);
  const t = <i64>atomic.load<i32>(CTRL + THREADS);
  const units = <i64>((rows + align - 1) / align);
  const at = <i32>((units * <i64>slot) / t) * align;
  return at < rows ? at : rows;
}
