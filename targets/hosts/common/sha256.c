/* SHA-256 as specified in FIPS 180-4, section 6.2. Tested against the NIST vectors and
 * node:crypto in test/sha256-c.test.ts. */
#include "sha256.h"

static const uint32_t K[64] = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t rotr(uint32_t x, unsigned n) { return (x >> n) | (x << (32 - n)); }

/* One 64-byte block into the state. */
static void compress(uint32_t h[8], const uint8_t *p) {
  uint32_t w[64];
  for (int t = 0; t < 16; t++) {
    w[t] = (uint32_t)p[4 * t] << 24 | (uint32_t)p[4 * t + 1] << 16 | (uint32_t)p[4 * t + 2] << 8 | (uint32_t)p[4 * t + 3];
  }
  for (int t = 16; t < 64; t++) {
    uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
    uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
    w[t] = w[t - 16] + s0 + w[t - 7] + s1;
  }
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
  for (int t = 0; t < 64; t++) {
    uint32_t S1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
    uint32_t ch = (e & f) ^ (~e & g);
    uint32_t t1 = k + S1 + ch + K[t] + w[t];
    uint32_t S0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
    uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
    uint32_t t2 = S0 + maj;
    k = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
  }
  h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += k;
}

void eq_sha256_init(eq_sha256_ctx *c) {
  static const uint32_t H0[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
  for (int i = 0; i < 8; i++) c->h[i] = H0[i];
  c->bytes = 0;
  c->used = 0;
}

void eq_sha256_update(eq_sha256_ctx *c, const uint8_t *data, size_t n) {
  c->bytes += n;
  while (n > 0) {
    if (c->used == 0 && n >= 64) { compress(c->h, data); data += 64; n -= 64; continue; }
    size_t take = 64 - c->used;
    if (take > n) take = n;
    for (size_t i = 0; i < take; i++) c->block[c->used + i] = data[i];
    c->used += (uint32_t)take; data += take; n -= take;
    if (c->used == 64) { compress(c->h, c->block); c->used = 0; }
  }
}

void eq_sha256_final(eq_sha256_ctx *c, uint8_t out[32]) {
  uint64_t bits = c->bytes * 8;
  /* 0x80, zeros up to 56 mod 64, then the length in bits, big-endian. */
  c->block[c->used++] = 0x80;
  if (c->used > 56) {
    while (c->used < 64) c->block[c->used++] = 0;
    compress(c->h, c->block);
    c->used = 0;
  }
  while (c->used < 56) c->block[c->used++] = 0;
  for (int i = 0; i < 8; i++) c->block[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
  compress(c->h, c->block);
  for (int i = 0; i < 8; i++) {
    out[4 * i] = (uint8_t)(c->h[i] >> 24); out[4 * i + 1] = (uint8_t)(c->h[i] >> 16);
    out[4 * i + 2] = (uint8_t)(c->h[i] >> 8); out[4 * i + 3] = (uint8_t)c->h[i];
  }
}

void eq_sha256(const uint8_t *data, size_t n, uint8_t out[32]) {
  eq_sha256_ctx c;
  eq_sha256_init(&c);
  eq_sha256_update(&c, data, n);
  eq_sha256_final(&c, out);
}

static int hexval(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

int eq_sha256_parse_hex(const char *hex, uint8_t out[32]) {
  for (int i = 0; i < 32; i++) {
    int hi = hexval(hex[2 * i]);
    if (hi < 0) return -1;
    int lo = hexval(hex[2 * i + 1]);
    if (lo < 0) return -1;
    out[i] = (uint8_t)(hi << 4 | lo);
  }
  return hex[64] == 0 ? 0 : -1;
}

int eq_sha256_equal(const uint8_t a[32], const uint8_t b[32]) {
  uint8_t d = 0;
  for (int i = 0; i < 32; i++) d |= (uint8_t)(a[i] ^ b[i]);
  return d == 0;
}
