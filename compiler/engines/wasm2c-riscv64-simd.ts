// wasm2c-riscv64-simd: the SIMD runtime through wasm2c on RISC-V. Debian's SIMDe 0.7.4 has
// no RVV mapping, so every wasm SIMD operation becomes SIMDe's portable C (lane loops that
// gcc 12 does not vectorize for RVV): it conforms, and is a check of the SIMD build on a
// third ISA. It retires fewer instructions than the scalar build for int8 programs and far
// more where a swizzle becomes a 16-step loop (docs/engines.md), so the riscv64-linux
// target carries it only for programs without those ops (simdSlowerFor in its profile).
// See ./wasm2c-riscv64.ts.
import { arch } from './wasm2c-riscv64.ts';
import { wasm2cEngine } from './wasm2c.ts';

export const engine = wasm2cEngine(arch, 'simd');
