// wasm2c-riscv64: the scalar runtime through wasm2c and riscv64-linux-gnu-gcc (static),
// run under qemu-riscv64. Guard pages as on every Linux host (targets/hosts/wasm-rt/
// wasm-rt.h). See ./wasm2c.ts.
import { wasm2cEngine, type LinuxArch } from './wasm2c.ts';

/**
 * -mno-strict-align -mtune=thead-c906: wasm2c reads every wasm load through a memcpy of
 * unknown alignment, which gcc 12 expands byte by byte under its default RISC-V tuning (an
 * i32 load: four lbu, four sb to the stack, one lw); it emits one load only when the tuning
 * says misaligned accesses are fast, and of gcc 12's tunings T-Head's C906 (the core of
 * the common Allwinner D1 Linux boards) is one that does. Linux on RV64GC allows misaligned
 * accesses (the kernel or firmware completes any the hardware does not) and the runtime's
 * data are aligned anyway. Instructions per token: docs/engines.md. Not for the
 * bare-metal RV32 boards, which have no such handler.
 */
export const arch: LinuxArch = { name: 'riscv64', cc: 'riscv64-linux-gnu-gcc', ccPackage: 'gcc-riscv64-linux-gnu', emulator: 'qemu-riscv64', flags: ['-static', '-mno-strict-align', '-mtune=thead-c906'] };
export const engine = wasm2cEngine(arch);
