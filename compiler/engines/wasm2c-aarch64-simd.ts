// wasm2c-aarch64-simd: the SIMD runtime through wasm2c; SIMDe maps it to NEON (baseline
// on ARMv8-A, so no extra flag). Run under qemu-aarch64. See ./wasm2c-aarch64.ts.
import { arch } from './wasm2c-aarch64.ts';
import { wasm2cEngine } from './wasm2c.ts';

export const engine = wasm2cEngine(arch, 'simd');
