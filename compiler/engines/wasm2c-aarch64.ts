// wasm2c-aarch64: the scalar runtime through wasm2c and aarch64-linux-gnu-gcc (static),
// run under qemu-aarch64. Explicit bounds checks: qemu-user cannot reserve wasm2c's 8 GiB
// guard-page region (os_mprotect fails). See ./wasm2c.ts.
import { wasm2cEngine } from './wasm2c.ts';

export const engine = wasm2cEngine({
  name: 'aarch64', cc: 'aarch64-linux-gnu-gcc', ccPackage: 'gcc-aarch64-linux-gnu', emulator: 'qemu-aarch64', flags: ['-static', '-DWASM_RT_MEMCHECK_SIGNAL_HANDLER=0'],
});
