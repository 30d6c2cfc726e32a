/* SHA-256 (FIPS 180-4), small and portable: the C hosts check the artifact's bytes
 * against the hash the manifest (or the firmware image) expects before running it.
 * No tables beyond the 64 round constants, no dynamic memory, no platform calls. */
#ifndef EDGEQ_SHA256_H
#define EDGEQ_SHA256_H
#include <stdint.h>
#include <stddef.h>

typedef struct {
  uint32_t h[8];      /* chaining state */
  uint64_t bytes;     /* message length so far */
  uint8_t block[64];  /* pending partial block */
  uint32_t used;      /* bytes in block */
} eq_sha256_ctx;

void eq_sha256_init(eq_sha256_ctx *c);
void eq_sha256_update(eq_sha256_ctx *c, const uint8_t *data, size_t n);
void eq_sha256_final(eq_sha256_ctx *c, uint8_t out[32]);
/* One call: out = SHA-256(data[0..n)). */
void eq_sha256(const uint8_t *data, size_t n, uint8_t out[32]);

/* Parses 64 hex digits (either case) into 32 bytes; 0 on success, -1 if malformed. */
int eq_sha256_parse_hex(const char *hex, uint8_t out[32]);
/* Constant-time comparison of two digests: 1 when equal. */
int eq_sha256_equal(const uint8_t a[32], const uint8_t b[32]);
#endif
