/* The part of every C host that is the same on Linux and on bare metal: it drives a
 * wasm2c-compiled runtime.wasm through the exports of docs/runtime-abi.md. The platform
 * file provides eq_out() (where bytes go) and gets the artifact bytes from somewhere
 * (a file, or flash). Output lines are byte-identical to the Node host's, so engines
 * are compared as plain text. */
#ifndef EDGEQ_HOST_CORE_H
#define EDGEQ_HOST_CORE_H
#include <stdint.h>
#include "runtime.h"

/* A pointer into the runtime's linear memory as the CPU sees it (xip.h maps it). */
#ifndef EQ_MEM_PTR
#define EQ_MEM_PTR(p) ((const char *)(p))
#endif

/* The runtime instance as wabt 1.0.39's wasm2c names it (module name "runtime"), and its
 * memory (the threaded flavour's is shared; ../wasm-rt/wasm-rt.h). */
typedef w2c_runtime eq_runtime;
#ifdef EQ_THREADS
typedef wasm_rt_shared_memory_t eq_memory;
#else
typedef wasm_rt_memory_t eq_memory;
#endif

/* wasm_rt_init, then instantiates the module (memory, globals, data segments); in a
 * threaded build over the shared memory of ../linux/threads.c. */
void eq_instantiate(eq_runtime *rt);
void eq_release(eq_runtime *rt);

/* Provided by the platform: write n bytes to the console. */
void eq_out(const char *s, uint32_t n);

/* Computes the SHA-256 of the artifact bytes and compares it with `expected`. Returns 0
 * when they match; otherwise prints "edgeq: artifact sha256 <got> differs from the
 * expected <want>, refusing to run" and returns -1. Hosts call it before eq_load. */
int eq_check_artifact(const uint8_t *artifact, uint32_t len, const uint8_t expected[32]);

/* Copies the artifact into the runtime's memory and verifies it. 0 or an error code. */
int eq_load(eq_runtime *rt, const uint8_t *artifact, uint32_t len);

/* Runs the embedded conformance vectors, printing "selftest <position> <hash hex>" per
 * position; returns the number of mismatching positions. */
uint32_t eq_selftest(eq_runtime *rt);

/* Greedy generation from BOS for up to `steps` positions, printing the text as llama2.c
 * does; stops early at BOS. Returns the number of positions run, or -code on error. */
int32_t eq_generate(eq_runtime *rt, uint32_t steps);

void eq_out_str(const char *s);
void eq_out_u32(uint32_t v);
void eq_out_hex64(uint64_t v);
#endif
