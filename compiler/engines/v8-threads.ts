// v8-threads: the threaded flavour of the bundle's runtime build on V8 (Node), several
// threads (`edgeq run --threads`). See ./v8.ts.
import { v8ThreadsEngine } from './v8.ts';

export const engine = v8ThreadsEngine();
