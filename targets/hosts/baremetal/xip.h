/* Weights in place (execute-in-place style): the artifact is read where it lies in flash,
 * never copied to RAM. Force-included (gcc -include) into every C file of a board image.
 *
 * The runtime's linear memory is a virtual range at EQ_XIP_VBASE (never dereferenced):
 * wasm address a maps to RAM below the artifact's window [lo, lo+len), to the artifact in
 * flash inside it, and to RAM shifted down by len above it. So RAM holds the runtime's
 * data, arena, KV cache and stack, and no weight byte.
 *
 * It does not depend on the text wasm2c emits, only on where every access goes: wasm2c
 * (1.0.32 and 1.0.39 alike) performs loads, stores and data-segment copies with
 * wasm_rt_memcpy/memcpy, memory.fill with memset and memory.copy with memmove. Those
 * names are redirected here to hooks that translate the address, so any wasm2c whose
 * accesses go through them works; a store into the window (flash) traps. */
#ifndef EDGEQ_XIP_H
#define EDGEQ_XIP_H
#ifndef __ASSEMBLER__
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "wasm-rt.h"

/* Disjoint from every board's flash and RAM (the generated linker script asserts it). */
#define EQ_XIP_VBASE ((uintptr_t)0x40000000u)
#define EQ_XIP_SPAN ((uintptr_t)0x40000000u)

extern uint8_t *const eq_xip_ram;      /* RAM behind the linear memory (wasm_rt_baremetal.c) */
extern const uint8_t *eq_xip_flash;    /* the artifact in flash */
extern uint32_t eq_xip_lo, eq_xip_len; /* the window; len 0 until the host sets it */
/* Set by the host while the runtime's reserve zero-fills the artifact's block: those
 * writes would be overwritten by the artifact's bytes, which the window already shows, so
 * they are dropped. Any other write into the window is a bug and stops the board. */
extern uint32_t eq_xip_reserving;
__attribute__((noreturn)) void eq_xip_write_trap(void);

static inline int eq_xip_in_window(const void *p) {
  uintptr_t a = (uintptr_t)p - EQ_XIP_VBASE;
  return a < EQ_XIP_SPAN && a - eq_xip_lo < eq_xip_len;
}

static inline uint8_t *eq_xip_map(const void *p) {
  uintptr_t a = (uintptr_t)p - EQ_XIP_VBASE;
  if (a >= EQ_XIP_SPAN) return (uint8_t *)p; /* not linear memory: a local, a global */
  if (a < eq_xip_lo) return eq_xip_ram + a;
  if (a - eq_xip_lo < eq_xip_len) return (uint8_t *)eq_xip_flash + (a - eq_xip_lo);
  return eq_xip_ram + (a - eq_xip_len);
}

/* True when [p, p+n) is linear memory and touches the window. */
static inline int eq_xip_touches(const void *p, size_t n) {
  uintptr_t a = (uintptr_t)p - EQ_XIP_VBASE;
  return a < EQ_XIP_SPAN && eq_xip_len != 0 && a < eq_xip_lo + eq_xip_len && a + n > eq_xip_lo;
}

/* True when [p, p+n) crosses a window edge (then it is copied byte by byte). */
static inline int eq_xip_straddles(const void *p, size_t n) {
  uintptr_t a = (uintptr_t)p - EQ_XIP_VBASE, hi = eq_xip_lo + eq_xip_len;
  return a < EQ_XIP_SPAN && eq_xip_len != 0 && ((a < eq_xip_lo && a + n > eq_xip_lo) || (a < hi && a + n > hi));
}

static inline void *eq_xip_memcpy(void *d, const void *s, size_t n) {
  if (eq_xip_touches(d, n)) eq_xip_write_trap();
  if (eq_xip_straddles(s, n)) {
    for (size_t i = 0; i < n; i++) *eq_xip_map((uint8_t *)d + i) = *eq_xip_map((const uint8_t *)s + i);
  } else {
    __builtin_memcpy(eq_xip_map(d), eq_xip_map(s), n);
  }
  return d;
}

static inline void *eq_xip_memmove(void *d, const void *s, size_t n) {
  if (eq_xip_touches(d, n)) eq_xip_write_trap();
  if (eq_xip_straddles(s, n) || eq_xip_straddles(d, n)) {
    /* Byte by byte in the direction that is safe for an overlap in wasm addresses. */
    if ((uintptr_t)d < (uintptr_t)s) for (size_t i = 0; i < n; i++) *eq_xip_map((uint8_t *)d + i) = *eq_xip_map((const uint8_t *)s + i);
    else for (size_t i = n; i-- > 0;) *eq_xip_map((uint8_t *)d + i) = *eq_xip_map((const uint8_t *)s + i);
  } else {
    __builtin_memmove(eq_xip_map(d), eq_xip_map(s), n);
  }
  return d;
}

static inline void *eq_xip_memset(void *d, int v, size_t n) {
  if (eq_xip_touches(d, n)) {
    if (!eq_xip_reserving) eq_xip_write_trap();
    for (size_t i = 0; i < n; i++) if (!eq_xip_in_window((uint8_t *)d + i)) *eq_xip_map((uint8_t *)d + i) = (uint8_t)v;
    return d;
  }
  if (eq_xip_straddles(d, n)) for (size_t i = 0; i < n; i++) *eq_xip_map((uint8_t *)d + i) = (uint8_t)v;
  else __builtin_memset(eq_xip_map(d), v, n);
  return d;
}

#undef wasm_rt_memcpy
#define wasm_rt_memcpy eq_xip_memcpy
#define memcpy eq_xip_memcpy
#define memmove eq_xip_memmove
#define memset eq_xip_memset
/* A pointer into linear memory the host hands to something that is not a hook (output). */
#define EQ_MEM_PTR(p) ((const char *)eq_xip_map(p))
#define EQ_XIP 1
#endif
#endif
