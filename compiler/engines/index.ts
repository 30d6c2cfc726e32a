// Every conformance engine, in the order `edgeq verify` runs and prints them.
// Add one by writing ./<name>.ts exporting `engine: Engine` and listing it here; a board's
// engine comes from its profile (targets/<target>.json, ./board.ts), not from this list.
import type { Engine } from './engine.ts';
import { engine as v8Simd } from './v8-simd.ts';
import { engine as v8Scalar } from './v8-scalar.ts';
import { engine as v8Threads } from './v8-threads.ts';
import { engine as wasmInterp } from './wasm-interp.ts';
import { engine as wasm2cX86 } from './wasm2c-x86_64.ts';
import { engine as wasm2cAarch64 } from './wasm2c-aarch64.ts';
import { engine as wasm2cRiscv64 } from './wasm2c-riscv64.ts';
import { engine as wasm2cX86Simd } from './wasm2c-x86_64-simd.ts';
import { engine as wasm2cAarch64Simd } from './wasm2c-aarch64-simd.ts';
import { engine as wasm2cRiscv64Simd } from './wasm2c-riscv64-simd.ts';
import { engine as wasm2cX86Threads } from './wasm2c-x86_64-threads.ts';
import { engine as wasm2cAarch64Threads } from './wasm2c-aarch64-threads.ts';
import { engine as wasm2cRiscv64Threads } from './wasm2c-riscv64-threads.ts';
import { boardEngines } from './board.ts';

export const ENGINES: Engine[] = [v8Simd, v8Scalar, v8Threads, wasmInterp, wasm2cX86, wasm2cX86Simd, wasm2cX86Threads, wasm2cAarch64, wasm2cAarch64Simd, wasm2cAarch64Threads, wasm2cRiscv64, wasm2cRiscv64Simd, wasm2cRiscv64Threads, ...boardEngines()];

export function engineNames(): string[] { return ENGINES.map((e) => e.name); }
