/* Linux host for a wasm2c-compiled runtime (x86-64 natively, AArch64 and RISC-V under
 * qemu-user):
 *   edgeq-host <model.edgeq> selftest        conformance vectors, one line per position
 *   edgeq-host <model.edgeq> generate <n>    greedy text from BOS
 *   edgeq-host <model.edgeq> bench <n>       n greedy positions from BOS, not stopping at
 *                                             BOS and printing no text (npm run bench)
 *   ... --sha256 <64 hex digits>              (optional, last) refuse an artifact whose
 *                                             SHA-256 differs (the manifest's hash)
 * Exit status: 0 ok, 1 conformance mismatch, 2 usage, 3 unreadable file, 4 artifact
 * rejected (the verifier's code is printed), 5 runtime error, 6 artifact hash mismatch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "host_core.h"
#include "sha256.h"

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

int main(int argc, char **argv) {
  uint8_t expected[32];
  int check_hash = 0;
  if (argc >= 5 && !strcmp(argv[argc - 2], "--sha256")) {
    if (eq_sha256_parse_hex(argv[argc - 1], expected) != 0) {
      fprintf(stderr, "--sha256 expects 64 hex digits, got \"%s\"\n", argv[argc - 1]);
      return 2;
    }
    check_hash = 1;
    argc -= 2;
  }
  if (argc < 3 || (strcmp(argv[2], "selftest") && strcmp(argv[2], "generate") && strcmp(argv[2], "bench"))) {
    fprintf(stderr, "usage: %s <model.edgeq> selftest | generate <steps> | bench <steps> [--sha256 <hex>]\n", argv[0]);
    return 2;
  }
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
  int code = eq_load(&rt, artifact, len);
  free(artifact);
  if (code != 0) { fprintf(stderr, "%s: artifact rejected by the runtime's verifier (code %d)\n", argv[1], code); return 4; }
  int status = 0;
  if (!strcmp(argv[2], "selftest")) {
    uint32_t bad = eq_selftest(&rt);
    printf("selftest mismatches %u\n", bad);
    status = bad ? 1 : 0;
  } else if (!strcmp(argv[2], "bench")) {
    uint32_t steps = argc > 3 ? (uint32_t)strtoul(argv[3], NULL, 10) : 16, token = 1, pos = 0;
    for (; pos < steps; pos++) {
      uint32_t err = w2c_runtime_forward(&rt, token, pos);
      if (err) { fprintf(stderr, "runtime error code %u at position %u\n", err, pos); status = 5; break; }
      token = w2c_runtime_argmax(&rt);
    }
    printf("bench positions %u\n", pos);
  } else {
    int32_t r = eq_generate(&rt, argc > 3 ? (uint32_t)strtoul(argv[3], NULL, 10) : 256);
    if (r < 0) { fprintf(stderr, "runtime error code %d\n", -r); status = 5; }
  }
  fflush(stdout);
  eq_release(&rt);
  return status;
}
