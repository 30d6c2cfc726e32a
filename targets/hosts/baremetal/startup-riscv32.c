/* RV32 bare-metal startup (targets/riscv32*.json "startup"): the entry point first in
 * flash sets the global and stack pointers and the trap vector, then .data/.bss are set up
 * and main runs. Semihosting on RISC-V is the Arm operation set reached by the magic
 * sequence "slli x0,x0,0x1f; ebreak; srai x0,x0,7" (uncompressed, within one 4 KiB page).
 * No OS, no heap, no F/D instructions (-march=rv32imac). */
#include <stdint.h>
#include <string.h>

extern uint32_t _sdata, _edata, _sidata, _sbss, _ebss;
int main(void);
void semihost_write(const char *s, uint32_t n);
__attribute__((noreturn)) void semihost_exit(int code);

__asm__(
  ".section .vectors, \"ax\"\n"
  ".global eq_reset\n"
  "eq_reset:\n"
  ".option push\n.option norelax\n"
  "  la gp, __global_pointer$\n"
  ".option pop\n"
  "  la sp, _estack\n"
  "  la t0, eq_trap_entry\n"
  ".option push\n.option arch, +zicsr\n"  /* -march=rv32imac keeps the multilib; CSR access is Zicsr */
  "  csrw mtvec, t0\n"
  ".option pop\n"
  "  j eq_start\n"
  ".balign 16\n"
  ".global eq_semihost_call\n"
  "eq_semihost_call:\n"  /* a0 = operation, a1 = argument block; result in a0 */
  ".option push\n.option norvc\n"
  "  slli x0, x0, 0x1f\n"
  "  ebreak\n"
  "  srai x0, x0, 7\n"
  ".option pop\n"
  "  ret\n"
  ".balign 4\n"
  "eq_trap_entry:\n"
  "  j eq_trap\n"
  ".text\n");

__attribute__((noreturn, used)) void eq_start(void) {
  memcpy(&_sdata, &_sidata, (uint32_t)((char *)&_edata - (char *)&_sdata));
  memset(&_sbss, 0, (uint32_t)((char *)&_ebss - (char *)&_sbss));
  semihost_exit(main());
}

__attribute__((noreturn, used)) void eq_trap(void) {
  static const char msg[] = "edgeq: trap\n";
  semihost_write(msg, sizeof msg - 1);
  semihost_exit(99);
}
