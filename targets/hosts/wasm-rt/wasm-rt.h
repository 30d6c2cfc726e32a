/* edgeq's own wasm2c runtime interface, for the C that wabt 1.0.39's wasm2c writes
 * (docs/engines.md). It declares exactly what that C uses and nothing more: one linear
 * memory (bounds checked explicitly, or by guard pages on Linux: below), no Segue, a
 * call-depth limit that turns runaway recursion into a trap, and the table and
 * function-type declarations the generated helpers mention. The same header serves the
 * Linux hosts (wasm-rt-impl.c: memory from mmap) and the bare-metal host
 * (../baremetal/wasm_rt_baremetal.c: memory from one static array). The threaded flavour's
 * build (-DEQ_THREADS, ../linux/threads.c) adds a shared memory, C11 atomics and a call
 * depth per thread. */
#ifndef EDGEQ_WASM_RT_H
#define EDGEQ_WASM_RT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef __has_builtin
#define __has_builtin(x) 0
#endif

#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#define wasm_rt_memcpy memcpy
#define WASM_RT_NO_RETURN __attribute__((noreturn))

/* How an out-of-bounds access becomes a trap. The Linux hosts build with
 * -DWASM_RT_MEMCHECK_GUARD_PAGES=1: wasm-rt-impl.c reserves 8 GiB of address space per
 * linear memory (any u32 address plus any u32 offset), only the memory's current size
 * readable, and turns a fault inside the reservation into the out-of-bounds trap, so the
 * generated C carries no compare-and-branch per load (about half the instructions of the
 * SIMD LUT kernel's inner loop on AArch64; docs/engines.md). Boards have no MMU: there, and
 * by default, every access is checked against the memory's size. Either way an
 * out-of-bounds access is the same trap, never a wild read. */
#ifndef WASM_RT_MEMCHECK_GUARD_PAGES
#define WASM_RT_MEMCHECK_GUARD_PAGES 0
#endif
#define WASM_RT_USE_SEGUE 0
#define WASM_RT_SANITY_CHECKS 0
#define WABT_BIG_ENDIAN 0

#define WASM_RT_STACK_DEPTH_COUNT 1
#ifndef WASM_RT_MAX_CALL_STACK_DEPTH
#define WASM_RT_MAX_CALL_STACK_DEPTH 500
#endif
/* Each thread of a threaded build counts its own call depth. */
#ifdef EQ_THREADS
#define WASM_RT_C11_AVAILABLE 1
/* local-exec: the hosts are executables that define the variable themselves. gcc's default
 * for an extern one (initial-exec, a GOT load of its offset) may put that load in a vector
 * register under -march=native, which GNU ld 2.40 cannot relax ("TLS transition ...
 * failed"). */
#define WASM_RT_THREAD_LOCAL _Thread_local __attribute__((tls_model("local-exec")))
#else
#define WASM_RT_THREAD_LOCAL
#endif
extern WASM_RT_THREAD_LOCAL uint32_t wasm_rt_call_stack_depth;

typedef enum {
  WASM_RT_TRAP_NONE,
  WASM_RT_TRAP_OOB,
  WASM_RT_TRAP_INT_OVERFLOW,
  WASM_RT_TRAP_DIV_BY_ZERO,
  WASM_RT_TRAP_INVALID_CONVERSION,
  WASM_RT_TRAP_UNREACHABLE,
  WASM_RT_TRAP_CALL_INDIRECT,
  WASM_RT_TRAP_UNCAUGHT_EXCEPTION,
  WASM_RT_TRAP_UNALIGNED,
  WASM_RT_TRAP_EXHAUSTION,
  WASM_RT_TRAP_NULL_REF,
} wasm_rt_trap_t;

typedef enum {
  WASM_RT_I32, WASM_RT_I64, WASM_RT_F32, WASM_RT_F64, WASM_RT_V128, WASM_RT_FUNCREF, WASM_RT_EXTERNREF,
} wasm_rt_type_t;

/* Function types are compared by their 32-byte signature hash (wasm2c writes them). */
typedef const char *wasm_rt_func_type_t;
typedef void (*wasm_rt_function_ptr_t)(void);
struct wasm_rt_tailcallee_t;
typedef void (*wasm_rt_tailcallee_fn_t)(void **instance_ptr, void *tail_call_stack, struct wasm_rt_tailcallee_t *next);
typedef struct wasm_rt_tailcallee_t { wasm_rt_tailcallee_fn_t fn; } wasm_rt_tailcallee_t;

typedef struct {
  wasm_rt_func_type_t func_type;
  wasm_rt_function_ptr_t func;
  wasm_rt_tailcallee_t func_tailcallee;
  void *module_instance;
} wasm_rt_funcref_t;
#define wasm_rt_funcref_null_value ((wasm_rt_funcref_t){NULL, NULL, {NULL}, NULL})

typedef void *wasm_rt_externref_t;
#define wasm_rt_externref_null_value ((wasm_rt_externref_t){NULL})

typedef struct { wasm_rt_funcref_t *data; uint32_t max_size; uint32_t size; } wasm_rt_funcref_table_t;
typedef struct { wasm_rt_externref_t *data; uint32_t max_size; uint32_t size; } wasm_rt_externref_table_t;

/* One linear memory: `size` bytes at `data`, `pages` of 64 KiB, growable to `max_pages`. */
typedef struct {
  uint8_t *data;
  uint64_t pages;
  uint64_t max_pages;
  uint64_t size;
  bool is64;
} wasm_rt_memory_t;

/* A shared memory (threaded builds) has the same fields; its bytes never move
 * (../linux/threads.c reserves it with wasm_rt_reserve_memory), so threads may read it
 * while it grows. The generated C accesses it with C11 atomics where wasm says atomic. */
typedef wasm_rt_memory_t wasm_rt_shared_memory_t;
uint64_t wasm_rt_grow_memory_shared(wasm_rt_shared_memory_t *mem, uint64_t delta);
/* WABT 1.0.39's wasm2c writes v128.load and v128.store on a shared memory as these two
 * functions but never defines them; the plain ones it does define are the same thing here
 * (no atomicity needed: wasm's v128 accesses are not atomic either). */
#define v128_load_shared_default32 v128_load_default32
#define v128_store_shared_default32 v128_store_default32

void wasm_rt_init(void);
bool wasm_rt_is_initialized(void);
void wasm_rt_free(void);
WASM_RT_NO_RETURN void wasm_rt_trap(wasm_rt_trap_t trap);
void wasm_rt_allocate_memory(wasm_rt_memory_t *mem, uint64_t initial_pages, uint64_t max_pages, bool is64, uint32_t page_size);
/* Returns the old page count, or (uint64_t)-1 when the memory cannot grow. */
uint64_t wasm_rt_grow_memory(wasm_rt_memory_t *mem, uint64_t delta);
void wasm_rt_free_memory(wasm_rt_memory_t *mem);
/* Linux hosts: address space for a linear memory of up to `max_pages` whose first
 * `initial_pages` are readable and zero (8 GiB reserved in a guard-page build), and making
 * pages [from, to) of it readable. Both exit with status 71 when the system refuses. */
uint8_t *wasm_rt_reserve_memory(uint64_t initial_pages, uint64_t max_pages);
void wasm_rt_commit_memory(uint8_t *data, uint64_t from_pages, uint64_t to_pages);

#ifdef __cplusplus
}
#endif
#endif
