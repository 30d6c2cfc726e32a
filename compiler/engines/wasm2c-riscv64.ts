// wasm2c-riscv64: the scalar runtime through wasm2c and riscv64-linux-gnu-gcc (static),
// run under qemu-riscv64. Explicit bounds checks: qemu-user cannot reserve wasm2c's 8 GiB
// guard-page region (os_mprotect fails). See ./wasm2c.ts.
import { wasm2cEngine } from './wasm2c.ts';

export const engine = wasm2cEngine({
  name: 'riscv64', cc: 'riscv64-linux-gnu-gcc', ccPackage: 'gcc-riscv64-linux-gnu', emulator: 'qemu-riscv64', flags: ['-static', '-DWASM_RT_MEMCHECK_SIGNAL_HANDLER=0'],
});
