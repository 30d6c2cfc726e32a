// wasm2c-aarch64: the scalar runtime through wasm2c and aarch64-linux-gnu-gcc (static),
// run under qemu-aarch64. Guard pages as on every Linux host (targets/hosts/wasm-rt/
// wasm-rt.h). See ./wasm2c.ts.
import { wasm2cEngine, type LinuxArch } from './wasm2c.ts';

/**
 * -funroll-loops for the SIMD build: fewer loop-control instructions in the LUT and int8
 * GEMVs (110M 4-bit: 115.0M -> 113.1M instructions per token; docs/engines.md). Counted,
 * not timed: no AArch64 board here. On x86-64 the same flag made the build 6% slower, so
 * only AArch64 takes it.
 */
export const arch: LinuxArch = { name: 'aarch64', cc: 'aarch64-linux-gnu-gcc', ccPackage: 'gcc-aarch64-linux-gnu', emulator: 'qemu-aarch64', flags: ['-static'], simdFlags: ['-funroll-loops'] };
export const engine = wasm2cEngine(arch);
