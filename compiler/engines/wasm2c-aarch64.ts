// wasm2c-aarch64: the scalar runtime through wasm2c and aarch64-linux-gnu-gcc (static),
// run under qemu-aarch64. Guard pages as on every Linux host (targets/hosts/wasm-rt/
// wasm-rt.h). See ./wasm2c.ts.
import { wasm2cEngine, type LinuxArch } from './wasm2c.ts';

export const arch: LinuxArch = { name: 'aarch64', cc: 'aarch64-linux-gnu-gcc', ccPackage: 'gcc-aarch64-linux-gnu', emulator: 'qemu-aarch64', flags: ['-static'] };
export const engine = wasm2cEngine(arch);
