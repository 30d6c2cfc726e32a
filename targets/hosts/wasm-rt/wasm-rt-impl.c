/* wasm2c runtime support for the Linux hosts (see wasm-rt.h): linear memory from the C
 * heap, grown with realloc (the generated code reloads mem->data on every access), and a
 * trap prints its kind and exits with status 70, the code every edgeq host uses for a
 * runtime fault. */
#include <stdio.h>
#include <stdlib.h>
#include "wasm-rt.h"

#define PAGE 65536u

WASM_RT_THREAD_LOCAL uint32_t wasm_rt_call_stack_depth;
static bool initialized;

void wasm_rt_init(void) { initialized = true; }
bool wasm_rt_is_initialized(void) { return initialized; }
void wasm_rt_free(void) { initialized = false; }

void wasm_rt_trap(wasm_rt_trap_t trap) {
  static const char *const names[] = {
    "none", "out-of-bounds memory access", "integer overflow", "integer divide by zero", "invalid conversion",
    "unreachable", "indirect call type mismatch", "uncaught exception", "unaligned atomic", "call stack exhausted", "null reference",
  };
  fflush(stdout);
  fprintf(stderr, "edgeq: wasm trap: %s\n", (unsigned)trap < sizeof names / sizeof names[0] ? names[trap] : "unknown");
  exit(70);
}

static void out_of_memory(uint64_t bytes) {
  fflush(stdout);
  fprintf(stderr, "edgeq: cannot allocate %llu bytes of wasm linear memory\n", (unsigned long long)bytes);
  exit(71);
}

void wasm_rt_allocate_memory(wasm_rt_memory_t *mem, uint64_t initial_pages, uint64_t max_pages, bool is64, uint32_t page_size) {
  if (page_size != PAGE || is64) { fprintf(stderr, "edgeq: only 32-bit memories with 64 KiB pages are supported\n"); exit(70); }
  uint64_t bytes = initial_pages * PAGE;
  /* calloc(0) may return NULL; keep one byte so data is never NULL. */
  mem->data = calloc(bytes ? bytes : 1, 1);
  if (!mem->data) out_of_memory(bytes);
  mem->pages = initial_pages;
  mem->max_pages = max_pages;
  mem->size = bytes;
  mem->is64 = false;
}

uint64_t wasm_rt_grow_memory(wasm_rt_memory_t *mem, uint64_t delta) {
  uint64_t old = mem->pages, pages = old + delta;
  if (pages > mem->max_pages || pages > 65536) return (uint64_t)-1;
  if (delta == 0) return old;
  uint64_t bytes = pages * PAGE;
  uint8_t *p = realloc(mem->data, bytes);
  if (!p) return (uint64_t)-1;
  memset(p + mem->size, 0, bytes - mem->size);
  mem->data = p;
  mem->pages = pages;
  mem->size = bytes;
  return old;
}

void wasm_rt_free_memory(wasm_rt_memory_t *mem) {
  free(mem->data);
  mem->data = NULL;
  mem->pages = mem->size = 0;
}
