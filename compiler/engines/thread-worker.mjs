// One worker of a threaded runtime (compiler/engines/threaded-runtime.ts): its own
// instance of the threaded flavour over the shared memory, calling thread_work(slot, seen)
// job after job until the runtime stops it. Plain JavaScript (no TypeScript loader in worker threads).
// Any failure is written to the shared error buffer and flagged through threads_fail, so
// the main thread, which may be blocked inside forward() waiting for this worker's rows,
// stops waiting and reports it (its event loop cannot see messages while it waits).
import { parentPort, workerData } from 'node:worker_threads';

const { module, memory, slot, errors } = workerData;
let ex;
try {
  ex = new WebAssembly.Instance(module, { env: { memory }, host: { print() {} } }).exports;
} catch (e) {
  parentPort.postMessage({ failed: `worker thread ${slot} could not instantiate the runtime: ${e?.message ?? e}` });
}
if (ex) {
  parentPort.postMessage({ ready: true });
  try {
    for (let seen = 0; seen >= 0;) seen = ex.thread_work(slot, seen);
  } catch (e) {
    const text = new TextEncoder().encode(`worker thread ${slot} failed: ${e?.stack ?? e}`).subarray(0, errors.byteLength - 4);
    const view = new Uint8Array(errors);
    view.set(text, 4);
    Atomics.store(new Int32Array(errors), 0, text.length);
    ex.threads_fail();
  }
}
