// wasm2c-x86_64-simd: the SIMD runtime through wasm2c (SIMDe), gcc -march=native, run
// natively. See ./wasm2c-x86_64.ts.
import { arch } from './wasm2c-x86_64.ts';
import { wasm2cEngine } from './wasm2c.ts';

export const engine = wasm2cEngine(arch, 'simd');
