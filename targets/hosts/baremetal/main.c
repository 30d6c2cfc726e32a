/* Bare-metal firmware: the artifact is linked into flash (artifact.S); its SHA-256 is
 * checked against the hash embedded at build time (EQ_ARTIFACT_SHA256, from the bundle's
 * manifest; exit 6 on mismatch), then it is copied once into the runtime's linear memory, checked by the runtime's verifier and by its embedded
 * conformance vectors, then the model generates EQ_STEPS greedy tokens from BOS. */
#include "host_core.h"

#ifndef EQ_STEPS
#define EQ_STEPS 64
#endif

void semihost_write(const char *s, uint32_t n); /* semihost.c */
extern const uint8_t eq_artifact[];
extern const uint32_t eq_artifact_len;

void eq_out(const char *s, uint32_t n) { semihost_write(s, n); }

int main(void) {
  static eq_runtime rt;
#ifdef EQ_ARTIFACT_SHA256
  static const uint8_t expected[32] = EQ_ARTIFACT_SHA256;
  if (eq_check_artifact(eq_artifact, eq_artifact_len, expected) != 0) return 6;
#endif
  eq_instantiate(&rt);
  int code = eq_load(&rt, eq_artifact, eq_artifact_len);
  if (code != 0) {
    eq_out_str("edgeq: artifact rejected by the runtime's verifier, code ");
    eq_out_u32((uint32_t)code);
    eq_out_str("\n");
    return 4;
  }
#ifdef EQ_SELFTEST
  uint32_t bad = eq_selftest(&rt);
  eq_out_str("selftest mismatches ");
  eq_out_u32(bad);
  eq_out_str("\n");
  if (bad) return 1;
#endif
  int32_t r = eq_generate(&rt, EQ_STEPS);
  return r < 0 ? 5 : 0;
}
