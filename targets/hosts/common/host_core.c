#include "host_core.h"
#include "sha256.h"
#include <string.h>
#ifdef EQ_THREADS
#include "threads.h"
#endif

void eq_out_str(const char *s) { eq_out(s, (uint32_t)strlen(s)); }

void eq_out_u32(uint32_t v) {
  char b[11]; int i = 10; b[i] = 0;
  do { b[--i] = (char)('0' + v % 10); v /= 10; } while (v);
  eq_out(b + i, (uint32_t)(10 - i));
}

void eq_out_hex64(uint64_t v) {
  static const char digits[] = "0123456789abcdef";
  char b[16];
  for (int i = 15; i >= 0; i--) { b[i] = digits[v & 15]; v >>= 4; }
  eq_out(b, 16);
}

/* The runtime's only import (docs/runtime-abi.md): one line per checked position. */
void w2c_host_print(struct w2c_host *unused, u32 position, u64 hash) {
  (void)unused;
  eq_out_str("selftest ");
  eq_out_u32(position);
  eq_out_str(" ");
  eq_out_hex64(hash);
  eq_out_str("\n");
}

void eq_instantiate(eq_runtime *rt) {
  wasm_rt_init();
#ifdef EQ_THREADS
  wasm2c_runtime_instantiate(rt, eq_env(), NULL);
#else
  wasm2c_runtime_instantiate(rt, NULL);
#endif
}

void eq_release(eq_runtime *rt) { wasm2c_runtime_free(rt); }

static void out_digest(const uint8_t d[32]) {
  static const char digits[] = "0123456789abcdef";
  char b[64];
  for (int i = 0; i < 32; i++) { b[2 * i] = digits[d[i] >> 4]; b[2 * i + 1] = digits[d[i] & 15]; }
  eq_out(b, 64);
}

int eq_check_artifact(const uint8_t *artifact, uint32_t len, const uint8_t expected[32]) {
  uint8_t got[32];
  eq_sha256(artifact, len, got);
  if (eq_sha256_equal(got, expected)) return 0;
  eq_out_str("edgeq: artifact sha256 ");
  out_digest(got);
  eq_out_str(" differs from the expected ");
  out_digest(expected);
  eq_out_str(", refusing to run\n");
  return -1;
}

#ifdef EQ_XIP
/* Board images (targets/hosts/baremetal/xip.h): the reserved range becomes a window onto
 * the artifact in flash instead of a copy. */
extern const uint8_t *eq_xip_flash;
extern uint32_t eq_xip_lo, eq_xip_len, eq_xip_reserving;
#endif

int eq_load(eq_runtime *rt, const uint8_t *artifact, uint32_t len) {
#ifdef EQ_XIP
  /* reserve puts every block at the heap's base (docs/runtime-abi.md); an empty one says
   * where, so the window is in place before reserve grows memory and zero-fills it. */
  uint32_t at = w2c_runtime_reserve(rt, 0);
  if (at == 0) return -1;
  eq_xip_flash = artifact;
  eq_xip_lo = at;
  eq_xip_len = len;
  eq_xip_reserving = 1;
#endif
  uint32_t ptr = w2c_runtime_reserve(rt, len);
  eq_memory *mem = w2c_runtime_memory(rt);
#ifdef EQ_XIP
  eq_xip_reserving = 0;
  if (ptr != at || (uint64_t)ptr + len > mem->size) return -1;
#else
  if (ptr == 0 || (uint64_t)ptr + len > mem->size) return -1;
  memcpy(mem->data + ptr, artifact, len);
#endif
  return (int)w2c_runtime_load(rt, len);
}

uint32_t eq_selftest(eq_runtime *rt) { return w2c_runtime_selftest(rt); }

int32_t eq_generate(eq_runtime *rt, uint32_t steps) {
  /* BOS/EOS come from the artifact's tokenizer (1/2 for llama2.c models). llama2.c stops
   * at BOS only; vocabularies of other kinds (GGUF, HF) also end a text with EOS. */
  const uint32_t BOS = (uint32_t)w2c_runtime_bos(rt);
  const uint32_t EOS = (uint32_t)w2c_runtime_eos(rt);
  const int stop_at_eos = w2c_runtime_tokenizerKind(rt) != 0;
  uint32_t token = BOS, pos = 0;
  eq_memory *mem = w2c_runtime_memory(rt);
  for (; pos < steps; pos++) {
    uint32_t err = w2c_runtime_forward(rt, token, pos);
    if (err) return -(int32_t)err;
    uint32_t next = w2c_runtime_argmax(rt);
    if (next == BOS || (stop_at_eos && next == EOS)) { pos++; break; }
    uint32_t n = w2c_runtime_decode(rt, token, next);
    eq_out(EQ_MEM_PTR(mem->data + w2c_runtime_text(rt)), n);
    token = next;
  }
  eq_out_str("\n");
  return (int32_t)pos;
}
