// wasm2c-x86_64: the scalar runtime through wasm2c, gcc, run natively. See ./wasm2c.ts.
// The SIMD build (./wasm2c-x86_64-simd.ts) adds -march=native so that SIMDe maps wasm
// SIMD to the host's SSSE3/SSE4.1/AVX instructions (baseline x86-64 has only SSE2, where
// i8x16.swizzle alone becomes a loop).
import { wasm2cEngine, type LinuxArch } from './wasm2c.ts';

export const arch: LinuxArch = { name: 'x86_64', cc: 'gcc', ccPackage: 'gcc', flags: [], simdFlags: ['-march=native'] };
export const engine = wasm2cEngine(arch);
