// Child process of compiler/plan/budget.ts: builds one runtime.wasm (stdin: JSON
// {config, program, target}) and writes it to stdout as base64. A separate process because
// asc/binaryen carry state between compilations in one process: the same source compiled
// after other builds can come out a few hundred bytes different, while `edgeq compile`
// always builds its runtime first thing in a fresh process. Sizes must match that.
import { readFileSync } from 'node:fs';
import { buildRuntime } from '../codegen/runtime.ts';

const input = JSON.parse(readFileSync(0, 'utf8'));
const r = await buildRuntime(input.config, input.program, input.target);
process.stdout.write(Buffer.from(r.wasm).toString('base64'));
