/* Minimal Cortex-M startup for the emulated MPS2 boards: vector table, .data/.bss
 * set-up, and Arm semihosting for console output and the exit status (qemu-system-arm
 * -semihosting-config enable=on). No OS, no heap, no FPU use. */
#include <stdint.h>
#include <string.h>

extern uint32_t _sdata, _edata, _sidata, _sbss, _ebss, _estack;
int main(void);

static int semihost(int op, void *arg) {
  register int r0 __asm__("r0") = op;
  register void *r1 __asm__("r1") = arg;
  __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

static int console = -1;

void semihost_write(const char *s, uint32_t n) {
  if (console < 0) {
    uint32_t open_args[3] = {(uint32_t)":tt", 4 /* "w" */, 3};
    console = semihost(0x01 /* SYS_OPEN */, open_args);
  }
  uint32_t args[3] = {(uint32_t)console, (uint32_t)s, n};
  semihost(0x05 /* SYS_WRITE */, args);
}

__attribute__((noreturn)) void semihost_exit(int code) {
  uint32_t args[2] = {0x20026 /* ADP_Stopped_ApplicationExit */, (uint32_t)code};
  semihost(0x20 /* SYS_EXIT_EXTENDED */, args);
  for (;;) {}
}

__attribute__((noreturn)) void reset_handler(void) {
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
  &_estack, (void *)reset_handler, (void *)fault_handler, (void *)fault_handler,
  (void *)fault_handler, (void *)fault_handler, (void *)fault_handler,
};
