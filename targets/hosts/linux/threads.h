/* The Linux host's threads (threads.c; threaded builds only, -DEQ_THREADS). In order:
 * eq_instantiate(slot 0), eq_threads_instantiate(n) (the workers' instances: instantiating
 * writes the data segments, so before eq_load), eq_load, eq_threads_start, the work,
 * eq_threads_stop. */
#ifndef EDGEQ_THREADS_H
#define EDGEQ_THREADS_H
#include <stdint.h>
#include "host_core.h"

/* The module's env imports (the shared memory), reserved on first use. */
struct w2c_env *eq_env(void);
/* Instances for workers 1..n-1 over eq_env()'s memory. */
void eq_threads_instantiate(uint32_t n);
/* threads_start(n) on slot 0 and one pthread per worker; 0, or -1 (said on stderr). */
int eq_threads_start(eq_runtime *rt);
/* threads_stop() on slot 0, then joins and frees the workers. */
void eq_threads_stop(eq_runtime *rt);
#endif
