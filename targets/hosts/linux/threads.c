/* The Linux host's threads (compiled only into the threaded build, -DEQ_THREADS -pthread):
 * the threaded flavour of a runtime (compiler/codegen/threads.ts) run by pthreads, as
 * compiler/engines/threaded-runtime.ts runs it by Node workers. One shared memory, the
 * module's import env.memory; one wasm2c instance per thread over it. Slot 0 is the
 * instance the host drives (eq_runtime); workers 1..n-1 call thread_work(slot, seen)
 * until threads_stop. The runtime hands each GEMV's rows out in chunks and every row is
 * computed by the same code as on one thread, so the output bytes are those of one thread.
 *
 * Also the module's other env imports: wait32/notify (how the runtime's threads sleep and
 * wake; WABT 1.0.39's wasm2c cannot translate memory.atomic.wait32/notify), here Linux
 * futexes on the word in the shared memory, and wasm_rt_grow_memory_shared.
 *
 * The memory is one reservation (wasm_rt_reserve_memory: address space, not RAM) so that
 * its bytes never move while another thread reads them; growing makes more of it readable
 * before the new size is published. A trap in any thread ends the process (wasm-rt-impl.c),
 * as it does with one thread. */
#define _GNU_SOURCE
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "host_core.h"
#include "threads.h"

#define PAGE 65536u

struct w2c_env { wasm_rt_shared_memory_t memory; pthread_mutex_t grow; };
static struct w2c_env env = { .grow = PTHREAD_MUTEX_INITIALIZER };

wasm_rt_shared_memory_t *w2c_env_memory(struct w2c_env *e) { return &e->memory; }

static void memory_failed(const char *what, uint64_t bytes) {
  fflush(stdout);
  fprintf(stderr, "edgeq: cannot %s %llu bytes of shared wasm memory\n", what, (unsigned long long)bytes);
  exit(71);
}

struct w2c_env *eq_env(void) {
  if (env.memory.data) return &env;
  uint64_t max = wasm2c_runtime_max_env_memory, initial = wasm2c_runtime_min_env_memory;
  if (max > 65536) max = 65536;
  env.memory.data = wasm_rt_reserve_memory(initial, max);
  env.memory.pages = initial;
  env.memory.max_pages = max;
  env.memory.size = initial * PAGE;
  env.memory.is64 = false;
  return &env;
}

uint64_t wasm_rt_grow_memory_shared(wasm_rt_shared_memory_t *mem, uint64_t delta) {
  pthread_mutex_lock(&env.grow);
  uint64_t old = mem->pages, pages = old + delta;
  if (pages > mem->max_pages) old = (uint64_t)-1;
  else {
    wasm_rt_commit_memory(mem->data, old, pages);
    mem->pages = pages;
    /* The new bytes are readable and zero now; other threads only ever see a larger size. */
    __atomic_store_n(&mem->size, pages * PAGE, __ATOMIC_RELEASE);
  }
  pthread_mutex_unlock(&env.grow);
  return old;
}

static _Atomic uint32_t *word(struct w2c_env *e, u32 addr) {
  if ((uint64_t)addr + 4 > e->memory.size) wasm_rt_trap(WASM_RT_TRAP_OOB);
  if (addr & 3) wasm_rt_trap(WASM_RT_TRAP_UNALIGNED);
  return (_Atomic uint32_t *)(e->memory.data + addr);
}

/* memory.atomic.wait32 with no timeout, minus its result: sleeps while the word holds
 * `expected`, or returns at once; callers re-check (a wake-up may be spurious). */
void w2c_env_wait32(struct w2c_env *e, u32 addr, u32 expected) {
  _Atomic uint32_t *w = word(e, addr);
  if (atomic_load(w) == expected) syscall(SYS_futex, (uint32_t *)w, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
}

/* memory.atomic.notify: wakes up to `count` sleepers (count as i32 < 0: all). */
void w2c_env_notify(struct w2c_env *e, u32 addr, u32 count) {
  _Atomic uint32_t *w = word(e, addr);
  syscall(SYS_futex, (uint32_t *)w, FUTEX_WAKE_PRIVATE, (int32_t)count < 0 ? INT_MAX : (int)count, NULL, NULL, 0);
}

struct worker { eq_runtime instance; pthread_t thread; uint32_t slot; };
static struct worker *workers;
static uint32_t n_threads = 1;

static void *work(void *arg) {
  struct worker *w = arg;
  for (int32_t seen = 0; seen >= 0;) seen = (int32_t)w2c_runtime_thread_work(&w->instance, w->slot, (uint32_t)seen);
  return NULL;
}

void eq_threads_instantiate(uint32_t n) {
  n_threads = n;
  workers = n > 1 ? calloc(n - 1, sizeof *workers) : NULL;
  if (n > 1 && !workers) memory_failed("allocate worker instances,", (uint64_t)(n - 1) * sizeof *workers);
  for (uint32_t i = 1; i < n; i++) {
    workers[i - 1].slot = i;
    wasm2c_runtime_instantiate(&workers[i - 1].instance, eq_env(), NULL);
  }
}

int eq_threads_start(eq_runtime *rt) {
  w2c_runtime_threads_start(rt, n_threads);
  for (uint32_t i = 1; i < n_threads; i++) {
    int err = pthread_create(&workers[i - 1].thread, NULL, work, &workers[i - 1]);
    if (err) {
      fprintf(stderr, "edgeq: cannot start thread %u of %u (pthread_create: error %d)\n", i, n_threads, err);
      n_threads = i;
      eq_threads_stop(rt);
      return -1;
    }
  }
  return 0;
}

void eq_threads_stop(eq_runtime *rt) {
  w2c_runtime_threads_stop(rt);
  for (uint32_t i = 1; i < n_threads; i++) pthread_join(workers[i - 1].thread, NULL);
  for (uint32_t i = 1; i < n_threads; i++) wasm2c_runtime_free(&workers[i - 1].instance);
  free(workers);
  workers = NULL;
  n_threads = 1;
}
