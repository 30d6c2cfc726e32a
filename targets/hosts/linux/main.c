/* Linux host for a wasm2c-compiled runtime (x86-64 natively, AArch64 and RISC-V under
 * qemu-user):
 *   edgeq-host <model.edgeq> selftest        conformance vectors, one line per position
 *   edgeq-host <model.edgeq> generate <n>    greedy text from BOS
 *   edgeq-host <model.edgeq> bench <n>       n greedy positions from BOS, not stopping at
 *                                             BOS and printing no text (npm run bench); then
 *                                             "bench positions <n> main-thread-cpu-us <t>":
 *                                             the CPU time of this thread (slot 0) over them
 *   edgeq-host <model.edgeq> tokens <n>      the generation loop of `edgeq run` (compiler/
 *                                             generate.ts pieces()): prints each next token
 *                                             id on its own line as soon as it is chosen
 *       --prompt <t0,t1,...>                  (tokens) the prompt's ids, BOS first (default: bos())
 *       --sample <temperature_q> <topp_q> <seed>
 *                                             (tokens) the integer sampler (default 0 0 42: greedy)
 *       --stop <id,...>                       (tokens) ids that end the text, not printed ("":
 *                                             none; default: bos(), and eos() for GGUF/HF
 *                                             vocabularies)
 *   options for every mode, after it:
 *       --threads <n>                         n threads (the threaded build only: threads.c)
 *       --sha256 <64 hex digits>              refuse an artifact whose SHA-256 differs (the
 *                                             manifest's hash)
 * Exit status: 0 ok, 1 conformance mismatch, 2 usage, 3 unreadable file, 4 artifact
 * rejected (the verifier's code is printed), 5 runtime error, 6 artifact hash mismatch,
 * 7 threads could not start. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "host_core.h"
#include "sha256.h"
#ifdef EQ_THREADS
#include "threads.h"
#endif

#define MAX_LIST 65536
/* The threaded build gets the runtime's limit (compiler/codegen/threads.ts MAX_THREADS). */
#ifndef EQ_MAX_THREADS
#define EQ_MAX_THREADS 64
#endif

void eq_out(const char *s, uint32_t n) { fwrite(s, 1, n, stdout); }

static uint8_t *read_file(const char *path, uint32_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *buf = n > 0 && n < 0x7fffffffL ? malloc((size_t)n) : NULL;
  if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) { free(buf); buf = NULL; }
  fclose(f);
  *len = (uint32_t)n;
  return buf;
}

static int usage(const char *argv0) {
  fprintf(stderr, "usage: %s <model.edgeq> selftest | generate <steps> | bench <steps> | tokens <positions>\n"
                  "         [--threads <n>] [--sha256 <hex>] [--prompt <id,...>] [--sample <temperature_q> <topp_q> <seed>] [--stop <id,...>]\n", argv0);
  return 2;
}

/* A whole number in [0, max] from `s`, or -1. */
static long long number(const char *s, unsigned long long max) {
  char *end;
  if (!*s || *s == '-') return -1;
  unsigned long long v = strtoull(s, &end, 10);
  return *end || v > max ? -1 : (long long)v;
}

/* Comma-separated ids into out[] ("" for none); their count, or -1. */
static int id_list(const char *s, uint32_t *out) {
  int n = 0;
  for (const char *p = s; *p;) {
    char *end;
    if (*p < '0' || *p > '9' || n == MAX_LIST) return -1;
    unsigned long v = strtoul(p, &end, 10);
    if (v > 0x7fffffffUL || (*end && *end != ',')) return -1;
    out[n++] = (uint32_t)v;
    p = *end ? end + 1 : end;
  }
  return n;
}

static uint32_t prompt[MAX_LIST], stops[MAX_LIST];

/* `tokens` mode: compiler/generate.ts pieces() with the runtime's sampler. */
static int run_tokens(eq_runtime *rt, uint32_t steps, int n_prompt, int n_stops, int stops_given, const uint32_t sample[2], uint64_t seed) {
  if (n_prompt == 0) { prompt[0] = w2c_runtime_bos(rt); n_prompt = 1; }
  if (!stops_given) {
    stops[n_stops++] = w2c_runtime_bos(rt);
    if (w2c_runtime_tokenizerKind(rt) != 0) stops[n_stops++] = w2c_runtime_eos(rt);
  }
  w2c_runtime_seed(rt, (uint32_t)seed, (uint32_t)(seed >> 32));
  uint32_t token = prompt[0];
  for (uint32_t pos = 0; pos < steps;) {
    uint32_t err = w2c_runtime_forward(rt, token, pos);
    if (err) { fprintf(stderr, "runtime error code %u at position %u\n", err, pos); return 5; }
    uint32_t next = pos + 1 < (uint32_t)n_prompt ? prompt[pos + 1] : w2c_runtime_sample(rt, sample[0], sample[1]);
    pos++;
    for (int i = 0; i < n_stops; i++) if (next == stops[i]) return 0;
    printf("%u\n", next);
    fflush(stdout);
    token = next;
  }
  return 0;
}

int main(int argc, char **argv) {
  uint8_t expected[32];
  int check_hash = 0, n_prompt = 0, n_stops = 0, stops_given = 0;
  uint32_t threads = 1, sample[2] = {0, 0};
  uint64_t seed = 42;
  if (argc < 3) return usage(argv[0]);
  const char *mode = argv[2];
  int takes_count = !strcmp(mode, "generate") || !strcmp(mode, "bench") || !strcmp(mode, "tokens");
  if (!takes_count && strcmp(mode, "selftest")) return usage(argv[0]);
  long long count = -1;
  int i = 3;
  if (takes_count && i < argc && argv[i][0] != '-') {
    count = number(argv[i++], 0xffffffffULL);
    if (count < 0) { fprintf(stderr, "%s: expects a whole number of steps, got \"%s\"\n", mode, argv[i - 1]); return 2; }
  }
  for (; i < argc; i++) {
    const char *o = argv[i];
    int left = argc - i - 1;
    if (!strcmp(o, "--sha256") && left >= 1) {
      if (eq_sha256_parse_hex(argv[++i], expected) != 0) { fprintf(stderr, "--sha256 expects 64 hex digits, got \"%s\"\n", argv[i]); return 2; }
      check_hash = 1;
    } else if (!strcmp(o, "--threads") && left >= 1) {
      long long n = number(argv[++i], EQ_MAX_THREADS);
      if (n < 1) { fprintf(stderr, "--threads expects a whole number from 1 to %d, got \"%s\"\n", EQ_MAX_THREADS, argv[i]); return 2; }
      threads = (uint32_t)n;
    } else if (!strcmp(o, "--prompt") && left >= 1) {
      if ((n_prompt = id_list(argv[++i], prompt)) <= 0) { fprintf(stderr, "--prompt expects token ids separated by commas (at most %d), got \"%s\"\n", MAX_LIST, argv[i]); return 2; }
    } else if (!strcmp(o, "--stop") && left >= 1) {
      stops_given = 1;
      if ((n_stops = id_list(argv[++i], stops)) < 0) { fprintf(stderr, "--stop expects token ids separated by commas, got \"%s\"\n", argv[i]); return 2; }
    } else if (!strcmp(o, "--sample") && left >= 3) {
      long long t = number(argv[i + 1], 0x7fffffffULL), p = number(argv[i + 2], 0x7fffffffULL), s = number(argv[i + 3], 0x7fffffffffffffffULL);
      if (t < 0 || p < 0 || s < 0) {
        fprintf(stderr, "--sample expects <temperature_q> <topp_q> (whole numbers, Q16) and <seed> (a whole number), got \"%s %s %s\"\n", argv[i + 1], argv[i + 2], argv[i + 3]);
        return 2;
      }
      sample[0] = (uint32_t)t; sample[1] = (uint32_t)p; seed = (uint64_t)s;
      i += 3;
    } else {
      fprintf(stderr, "unknown or incomplete option \"%s\"\n", o);
      return usage(argv[0]);
    }
  }
#ifndef EQ_THREADS
  if (threads > 1) { fprintf(stderr, "--threads %u: this host was built for one thread (the threaded flavour's build runs several)\n", threads); return 2; }
#endif
  uint32_t len = 0;
  uint8_t *artifact = read_file(argv[1], &len);
  if (!artifact) { fprintf(stderr, "%s: cannot read\n", argv[1]); return 3; }
  if (check_hash && eq_check_artifact(artifact, len, expected) != 0) {
    fflush(stdout);
    fprintf(stderr, "%s: sha256 differs from the expected hash, refusing to run\n", argv[1]);
    free(artifact);
    return 6;
  }
  static eq_runtime rt;
  eq_instantiate(&rt);
#ifdef EQ_THREADS
  eq_threads_instantiate(threads);
#endif
  int code = eq_load(&rt, artifact, len);
  free(artifact);
  if (code != 0) { fprintf(stderr, "%s: artifact rejected by the runtime's verifier (code %d)\n", argv[1], code); return 4; }
#ifdef EQ_THREADS
  if (eq_threads_start(&rt) != 0) return 7;
#endif
  int status = 0;
  if (!strcmp(mode, "selftest")) {
    uint32_t bad = eq_selftest(&rt);
    printf("selftest mismatches %u\n", bad);
    status = bad ? 1 : 0;
  } else if (!strcmp(mode, "bench")) {
    uint32_t steps = count >= 0 ? (uint32_t)count : 16, token = 1, pos = 0;
    struct timespec c0, c1;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
    for (; pos < steps; pos++) {
      uint32_t err = w2c_runtime_forward(&rt, token, pos);
      if (err) { fprintf(stderr, "runtime error code %u at position %u\n", err, pos); status = 5; break; }
      token = w2c_runtime_argmax(&rt);
    }
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
    long long us = (c1.tv_sec - c0.tv_sec) * 1000000LL + (c1.tv_nsec - c0.tv_nsec) / 1000;
    printf("bench positions %u main-thread-cpu-us %lld\n", pos, us);
  } else if (!strcmp(mode, "tokens")) {
    status = run_tokens(&rt, count >= 0 ? (uint32_t)count : 256, n_prompt, n_stops, stops_given, sample, seed);
  } else {
    int32_t r = eq_generate(&rt, count >= 0 ? (uint32_t)count : 256);
    if (r < 0) { fprintf(stderr, "runtime error code %d\n", -r); status = 5; }
  }
  fflush(stdout);
#ifdef EQ_THREADS
  eq_threads_stop(&rt);
#endif
  eq_release(&rt);
  return status;
}
