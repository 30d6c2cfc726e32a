// Worker thread of lowbit-pool.ts. Plain JavaScript so that it starts without a loader:
// it registers tsx (as bin/edgeq.mjs does) and then loads the TypeScript search.
import { parentPort } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const { workOn } = await import('./lowbit-pool.ts');
parentPort.on('message', (task) => workOn(task));
