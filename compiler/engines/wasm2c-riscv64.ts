// wasm2c-riscv64: the scalar runtime through wasm2c and riscv64-linux-gnu-gcc (static),
// run under qemu-riscv64. Explicit bounds checks (targets/hosts/wasm-rt/wasm-rt.h):
// qemu-user cannot reserve a guard-page region. See ./wasm2c.ts.
import { wasm2cEngine, type LinuxArch } from './wasm2c.ts';

export const arch: LinuxArch = { name: 'riscv64', cc: 'riscv64-linux-gnu-gcc', ccPackage: 'gcc-riscv64-linux-gnu', emulator: 'qemu-riscv64', flags: ['-static'] };
export const engine = wasm2cEngine(arch);
