/* Cortex-M startup (every M-profile board, targets/*.json "startup"): vector table,
 * .data/.bss set-up, the semihosting trap (bkpt 0xab) and a fault handler. No OS, no
 * heap, no FPU use. The linker script (generated from the board profile,
 * compiler/engines/linker-script.ts) places .vectors first in flash, where the core's
 * vector table register points at reset. */
#include <stdint.h>
#include <string.h>

extern uint32_t _sdata, _edata, _sidata, _sbss, _ebss, _estack;
int main(void);
void semihost_write(const char *s, uint32_t n);
__attribute__((noreturn)) void semihost_exit(int code);

int eq_semihost_call(int op, void *arg) {
  register int r0 __asm__("r0") = op;
  register void *r1 __asm__("r1") = arg;
  __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

__attribute__((noreturn)) void eq_reset(void) {
  memcpy(&_sdata, &_sidata, (uint32_t)((char *)&_edata - (char *)&_sdata));
  memset(&_sbss, 0, (uint32_t)((char *)&_ebss - (char *)&_sbss));
  semihost_exit(main());
}

__attribute__((noreturn)) static void fault_handler(void) {
  static const char msg[] = "edgeq: hard fault\n";
  semihost_write(msg, sizeof msg - 1);
  semihost_exit(99);
}

__attribute__((section(".vectors"), used)) static const void *const vectors[16] = {
  &_estack, (void *)eq_reset, (void *)fault_handler, (void *)fault_handler,
  (void *)fault_handler, (void *)fault_handler, (void *)fault_handler,
};
