/* wasm2c runtime support for the Linux hosts (see wasm-rt.h): linear memory from mmap,
 * whose bytes never move (growing makes more of the reservation readable; the generated
 * code reloads mem->data on every access anyway), and a trap prints its kind and exits
 * with status 70, the code every edgeq host uses for a runtime fault.
 *
 * Guard-page builds (-DWASM_RT_MEMCHECK_GUARD_PAGES=1, as compiler/engines/wasm2c.ts builds
 * every Linux host): each memory reserves 8 GiB of address space (a wasm access is a u32
 * address plus a u32 offset), of which only the memory's current size is readable; a
 * SIGSEGV or SIGBUS at an address inside a reservation is the out-of-bounds trap. A fault
 * anywhere else is the host's own bug and keeps its default action (a crash, not a trap).
 * Checked: test/wasm2c-guard.test.ts runs an out-of-bounds load on each Linux engine. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include "wasm-rt.h"

#define PAGE 65536u

WASM_RT_THREAD_LOCAL uint32_t wasm_rt_call_stack_depth;
static bool initialized;

void wasm_rt_init(void) { initialized = true; }
bool wasm_rt_is_initialized(void) { return initialized; }
void wasm_rt_free(void) { initialized = false; }

/* How every trap is reported on stderr: this prefix, then its name. */
#define TRAP_PREFIX "edgeq: wasm trap: "
static const char *const trap_names[] = {
  "none", "out-of-bounds memory access", "integer overflow", "integer divide by zero", "invalid conversion",
  "unreachable", "indirect call type mismatch", "uncaught exception", "unaligned atomic", "call stack exhausted", "null reference",
};

void wasm_rt_trap(wasm_rt_trap_t trap) {
  fflush(stdout);
  fprintf(stderr, TRAP_PREFIX "%s\n", (unsigned)trap < sizeof trap_names / sizeof trap_names[0] ? trap_names[trap] : "unknown");
  exit(70);
}

static void out_of_memory(const char *what, uint64_t bytes) {
  fflush(stdout);
  fprintf(stderr, "edgeq: cannot %s %llu bytes of wasm linear memory\n", what, (unsigned long long)bytes);
  exit(71);
}

#if WASM_RT_MEMCHECK_GUARD_PAGES
/* Any u32 address plus any u32 offset lands inside this. */
#define RESERVE (8ull << 30)
/* The reservations a fault may hit: the host's memory, and the threaded build's shared one. */
#define MAX_RESERVATIONS 4
static uint8_t *reservations[MAX_RESERVATIONS];
static volatile sig_atomic_t n_reservations;

static void write_stderr(const char *s) {
  if (write(2, s, strlen(s)) < 0) { /* nothing more to do */ }
}

static void on_fault(int sig, siginfo_t *info, void *context) {
  (void)context;
  const uint8_t *a = (const uint8_t *)info->si_addr;
  for (int i = 0; i < n_reservations; i++) {
    if (a >= reservations[i] && a < reservations[i] + RESERVE) {
      /* stdout may hold a line the runtime already printed; the trap text goes after it,
       * as wasm_rt_trap writes it, with write(2): stdio is not for signal handlers. */
      fflush(stdout);
      write_stderr(TRAP_PREFIX);
      write_stderr(trap_names[WASM_RT_TRAP_OOB]);
      write_stderr("\n");
      _exit(70);
    }
  }
  signal(sig, SIG_DFL); /* not ours: crash as the host would without the handler */
  raise(sig);
}

static void install_fault_handler(void) {
  static bool installed;
  if (installed) return;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGSEGV, &sa, NULL) || sigaction(SIGBUS, &sa, NULL)) out_of_memory("guard (sigaction failed)", 0);
  installed = true;
}

uint8_t *wasm_rt_reserve_memory(uint64_t initial_pages, uint64_t max_pages) {
  (void)max_pages;
  if (n_reservations == MAX_RESERVATIONS) out_of_memory("reserve (too many memories)", RESERVE);
  install_fault_handler();
  uint8_t *p = mmap(NULL, RESERVE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) out_of_memory("reserve", RESERVE);
  reservations[n_reservations] = p;
  n_reservations = n_reservations + 1;
  wasm_rt_commit_memory(p, 0, initial_pages);
  return p;
}

void wasm_rt_commit_memory(uint8_t *data, uint64_t from_pages, uint64_t to_pages) {
  if (to_pages > from_pages && mprotect(data + from_pages * PAGE, (to_pages - from_pages) * PAGE, PROT_READ | PROT_WRITE))
    out_of_memory("commit", (to_pages - from_pages) * PAGE);
}
#else
/* Explicit checks: the maximum is reserved readable (untouched pages cost nothing). */
uint8_t *wasm_rt_reserve_memory(uint64_t initial_pages, uint64_t max_pages) {
  (void)initial_pages;
  uint64_t bytes = (max_pages ? max_pages : 1) * PAGE;
  uint8_t *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) out_of_memory("reserve", bytes);
  return p;
}
void wasm_rt_commit_memory(uint8_t *data, uint64_t from_pages, uint64_t to_pages) { (void)data; (void)from_pages; (void)to_pages; }
#endif

void wasm_rt_allocate_memory(wasm_rt_memory_t *mem, uint64_t initial_pages, uint64_t max_pages, bool is64, uint32_t page_size) {
  if (page_size != PAGE || is64) { fprintf(stderr, "edgeq: only 32-bit memories with 64 KiB pages are supported\n"); exit(70); }
  if (max_pages > 65536) max_pages = 65536;
  mem->data = wasm_rt_reserve_memory(initial_pages, max_pages);
  mem->pages = initial_pages;
  mem->max_pages = max_pages;
  mem->size = initial_pages * PAGE;
  mem->is64 = false;
}

uint64_t wasm_rt_grow_memory(wasm_rt_memory_t *mem, uint64_t delta) {
  uint64_t old = mem->pages, pages = old + delta;
  if (pages > mem->max_pages || pages > 65536) return (uint64_t)-1;
  if (delta == 0) return old;
  /* The new pages are fresh anonymous memory: zero, as wasm requires. */
  wasm_rt_commit_memory(mem->data, old, pages);
  mem->pages = pages;
  mem->size = pages * PAGE;
  return old;
}

void wasm_rt_free_memory(wasm_rt_memory_t *mem) {
  /* The reservation stays (a fault in it is still a trap); its pages are returned. */
  if (mem->data && mem->size) madvise(mem->data, mem->size, MADV_DONTNEED);
  mem->data = NULL;
  mem->pages = mem->size = 0;
}
