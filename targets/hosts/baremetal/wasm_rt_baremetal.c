/* wasm2c's runtime interface (wasm-rt.h, wabt 1.0.32) for a board with no OS: linear
 * memory is the virtual range of xip.h, backed by one static RAM array sized at build time
 * (EQ_WASM_HEAP_BYTES: the runtime's memory less the artifact, which stays in flash),
 * traps print and stop, and there are no signals, no mmap and no malloc. wasm2c is built with
 * explicit bounds checks (WASM_RT_MEMCHECK_SIGNAL_HANDLER=0), so an out-of-bounds access
 * is a trap, never a wild read. */
#include <stdarg.h>
#include <string.h>
#include "wasm-rt.h"

#ifndef EQ_WASM_HEAP_BYTES
#error "EQ_WASM_HEAP_BYTES must give the static linear-memory size"
#endif

void semihost_write(const char *s, uint32_t n);
__attribute__((noreturn)) void semihost_exit(int code);

static uint8_t heap[EQ_WASM_HEAP_BYTES] __attribute__((aligned(16)));
uint8_t *const eq_xip_ram = heap;
const uint8_t *eq_xip_flash;
uint32_t eq_xip_lo, eq_xip_len;
uint32_t eq_xip_reserving;
uint32_t wasm_rt_call_stack_depth;

__attribute__((noreturn)) void eq_xip_write_trap(void) {
  static const char msg[] = "edgeq: write into the artifact in flash\n";
  semihost_write(msg, sizeof msg - 1);
  semihost_exit(72);
}

/* RAM the linear memory of `bytes` needs: all of it but the artifact's window. */
static uint64_t ram_for(uint64_t bytes) {
  return bytes > eq_xip_len ? bytes - eq_xip_len : 0;
}

void wasm_rt_init(void) {}
bool wasm_rt_is_initialized(void) { return true; }
void wasm_rt_free(void) {}

void wasm_rt_trap(wasm_rt_trap_t trap) {
  static const char msg[] = "edgeq: wasm trap\n";
  (void)trap;
  semihost_write(msg, sizeof msg - 1);
  semihost_exit(70);
}

#ifndef WASM_RT_USE_SEGUE
uint32_t wasm_rt_register_func_type(uint32_t params, uint32_t results, ...) {
  static uint32_t next;
  (void)params; (void)results;
  return ++next;
}
#endif

/* The one memory: a virtual range (xip.h) backed by the static heap; it grows in place up
 * to what the heap can back. The heap is .bss, so new pages are already zero. */
/* wabt 1.0.32's memory API (Debian) takes and returns 32-bit page counts; newer wasm-rt.h
 * (1.0.39, which defines WASM_RT_USE_SEGUE) 64-bit counts, is64 and a page size. */
#ifdef WASM_RT_USE_SEGUE
typedef uint64_t eq_pages_t;
#define EQ_ALLOCATE_ARGS wasm_rt_memory_t *m, uint64_t initial_pages, uint64_t max_pages, bool is64, uint32_t page_size
#define EQ_ALLOCATE_EXTRA (void)page_size; m->is64 = is64;
#else
typedef uint32_t eq_pages_t;
#define EQ_ALLOCATE_ARGS wasm_rt_memory_t *m, uint32_t initial_pages, uint32_t max_pages
#define EQ_ALLOCATE_EXTRA
#endif

void wasm_rt_allocate_memory(EQ_ALLOCATE_ARGS) {
  uint64_t bytes = (uint64_t)initial_pages * 65536u;
  if (bytes > sizeof heap) {
    static const char msg[] = "edgeq: not enough RAM for the initial wasm memory\n";
    semihost_write(msg, sizeof msg - 1);
    semihost_exit(71);
  }
  EQ_ALLOCATE_EXTRA
  m->data = (uint8_t *)EQ_XIP_VBASE;
  m->pages = initial_pages;
  m->max_pages = max_pages;
  m->size = bytes;
}

eq_pages_t wasm_rt_grow_memory(wasm_rt_memory_t *m, eq_pages_t delta) {
  eq_pages_t old = m->pages;
  uint64_t bytes = (uint64_t)m->size + (uint64_t)delta * 65536u;
  if (m->pages + (uint64_t)delta > m->max_pages || bytes > EQ_XIP_SPAN || ram_for(bytes) > sizeof heap) return (eq_pages_t)-1;
  m->pages += delta;
  m->size = bytes;
  return old;
}

void wasm_rt_free_memory(wasm_rt_memory_t *m) { (void)m; }

/* A failed assert in wasm2c's generated code (e.g. instantiating before wasm_rt_init):
 * the C library's version would write to a stderr the board does not have. */
__attribute__((noreturn)) void __assert_func(const char *file, int line, const char *func, const char *expr) {
  static const char msg[] = "edgeq: assertion failed in wasm2c's runtime\n";
  (void)file; (void)line; (void)func; (void)expr;
  semihost_write(msg, sizeof msg - 1);
  semihost_exit(70);
}
