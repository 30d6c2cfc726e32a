/* Console output and exit status through semihosting, the same on every board: the
 * operations (SYS_OPEN ":tt", SYS_WRITE, SYS_EXIT_EXTENDED) are common to Arm and RISC-V;
 * only the trap that reaches the debugger or emulator differs, so each startup file
 * provides eq_semihost_call(op, arg). qemu-system-* forwards them with
 * -semihosting-config enable=on; on real hardware a debug probe does (docs/boards.md). */
#include <stdint.h>

int eq_semihost_call(int op, void *arg);

static int console = -1;

void semihost_write(const char *s, uint32_t n) {
  if (console < 0) {
    uintptr_t open_args[3] = {(uintptr_t)":tt", 4 /* "w" */, 3};
    console = eq_semihost_call(0x01 /* SYS_OPEN */, open_args);
  }
  uintptr_t args[3] = {(uintptr_t)console, (uintptr_t)s, n};
  eq_semihost_call(0x05 /* SYS_WRITE */, args);
}

__attribute__((noreturn)) void semihost_exit(int code) {
  uintptr_t args[2] = {0x20026 /* ADP_Stopped_ApplicationExit */, (uintptr_t)code};
  eq_semihost_call(0x20 /* SYS_EXIT_EXTENDED */, args);
  for (;;) {}
}
