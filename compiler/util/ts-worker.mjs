// Entry of the compiler's worker threads (compiler/quantize/lowbit-pool.ts,
// compiler/emit/conformance-pool.ts). Plain JavaScript so that it starts without a loader:
// it registers tsx, as bin/edgeq.mjs does, then runs `workerData.entry` of the TypeScript
// module `workerData.module` (a file: URL).
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const m = await import(workerData.module);
m[workerData.entry]();
