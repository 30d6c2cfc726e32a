/* wasm2c's runtime interface (../wasm-rt/wasm-rt.h, for wabt 1.0.39) for a board with no OS: linear
 * memory comes from one static array sized at build time (EQ_WASM_HEAP_BYTES), traps
 * print and stop, and there are no signals, no mmap and no malloc. wasm2c is built with
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
static uint32_t heap_used;
uint32_t wasm_rt_call_stack_depth;

void wasm_rt_init(void) {}
bool wasm_rt_is_initialized(void) { return true; }
void wasm_rt_free(void) {}

void wasm_rt_trap(wasm_rt_trap_t trap) {
  static const char msg[] = "edgeq: wasm trap\n";
  (void)trap;
  semihost_write(msg, sizeof msg - 1);
  semihost_exit(70);
}

/* The one memory is carved from the static heap; it is the last allocation, so it can
 * grow in place up to the heap's end. */
void wasm_rt_allocate_memory(wasm_rt_memory_t *m, uint64_t initial_pages, uint64_t max_pages, bool is64, uint32_t page_size) {
  uint64_t bytes = initial_pages * 65536u;
  if (is64 || page_size != 65536u || bytes > sizeof heap - heap_used) {
    static const char msg[] = "edgeq: not enough RAM for the initial wasm memory\n";
    semihost_write(msg, sizeof msg - 1);
    semihost_exit(71);
  }
  m->data = heap + heap_used;
  m->pages = initial_pages;
  m->max_pages = max_pages;
  m->size = bytes;
  memset(m->data, 0, (uint32_t)bytes);
  m->is64 = false;
  heap_used += (uint32_t)bytes;
}

uint64_t wasm_rt_grow_memory(wasm_rt_memory_t *m, uint64_t delta) {
  uint64_t old = m->pages;
  uint64_t bytes = delta * 65536u;
  if (m->pages + delta > m->max_pages || bytes > sizeof heap - heap_used) return (uint64_t)-1;
  memset(m->data + m->size, 0, (uint32_t)bytes);
  m->pages += delta;
  m->size += (uint32_t)bytes;
  heap_used += (uint32_t)bytes;
  return old;
}

void wasm_rt_free_memory(wasm_rt_memory_t *m) { (void)m; }
