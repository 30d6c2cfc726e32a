// The linker script of a board image, generated from its profile (targets/<target>.json):
// flash and RAM where the board has them, the startup file's vectors/entry first in flash,
// read-only data (the artifact, artifact.S) in flash, .data copied to RAM at reset, the
// stack at the top of RAM. One template for every board, so a new board is a profile.
import type { TargetProfile } from '../target/profile.ts';
import { EdgeqError } from '../util/errors.ts';

export function linkerScript(t: TargetProfile, stackBytes: number): string {
  const b = t.board;
  if (!b || !t.flashBytes || !t.ramBytes) throw new EdgeqError(`target ${t.name} has no board`);
  return `/* Generated from targets/${t.name}.json (board ${b.name}) by compiler/engines/linker-script.ts. */
MEMORY {
  FLASH (rx)  : ORIGIN = ${b.flashOrigin}, LENGTH = ${t.flashBytes}
  RAM   (rwx) : ORIGIN = ${b.ramOrigin}, LENGTH = ${t.ramBytes}
}
ENTRY(eq_reset)
SECTIONS {
  .text : { KEEP(*(.vectors)) *(.text*) *(.rodata*) *(.srodata*) . = ALIGN(16); } > FLASH
  .data : { _sdata = .; *(.data*) *(.sdata*) . = ALIGN(4); _edata = .; } > RAM AT > FLASH
  _sidata = LOADADDR(.data);
  .bss (NOLOAD) : { _sbss = .; *(.bss*) *(.sbss*) *(COMMON) . = ALIGN(16); _ebss = .; end = .; } > RAM
  __global_pointer$ = _sdata + 0x800;
  _estack = ORIGIN(RAM) + LENGTH(RAM);
  /* xip.h's virtual range of the runtime's linear memory must not alias real memory. */
  ASSERT(ORIGIN(FLASH) + LENGTH(FLASH) <= 0x40000000 || ORIGIN(FLASH) >= 0x80000000, "edgeq: flash overlaps the XIP virtual range 0x40000000-0x7fffffff")
  ASSERT(ORIGIN(RAM) + LENGTH(RAM) <= 0x40000000 || ORIGIN(RAM) >= 0x80000000, "edgeq: RAM overlaps the XIP virtual range 0x40000000-0x7fffffff")
  ASSERT(_estack - _ebss >= ${stackBytes}, "edgeq: the ${stackBytes}-byte stack does not fit in RAM above .bss")
}
`;
}
