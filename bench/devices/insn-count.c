/* A QEMU TCG plugin that counts the guest instructions a program retires, for
 * `npm run bench -- devices` (bench/devices/insn-count.ts builds and runs it).
 *
 * Debian bookworm's qemu-user (7.2) loads plugins (-plugin) but ships no qemu-plugin.h, so
 * the few entry points used here are declared below from QEMU's documented plugin API
 * (docs/devel/tcg-plugins.rst, API version 1). At translation time every translation
 * block gets an inline "add its instruction count to a counter" op that runs each time
 * the block executes; at exit the total is printed on stderr as "insn-count <n>". A block
 * left early (a fault, an exit) is counted whole, as QEMU's own libinsn inline mode does;
 * over millions of blocks per token that error is nil. One counter: the programs measured
 * run one computing thread.
 *
 * With the argument `blocks=<file>` (-plugin insn-count.so,blocks=<file>) it also keeps a
 * counter per translated block and writes "<guest address hex> <instructions> <executions>"
 * per block that ran to <file> at exit: where the instructions go, for
 * scripts/insn-profile.ts. */
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t qemu_plugin_id_t;
struct qemu_info_t;
struct qemu_plugin_tb;
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb, enum qemu_plugin_op op, void *ptr, uint64_t imm);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);
void qemu_plugin_outs(const char *string);

#define EXPORT __attribute__((visibility("default")))
EXPORT int qemu_plugin_version = 1;

static uint64_t insns;

/* blocks= mode: one record per translation (a block translated twice gets two). */
struct block { uint64_t vaddr, n, runs; struct block *next; };
static struct block *blocks;
static const char *blocks_path;

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
  (void)id;
  size_t n = qemu_plugin_tb_n_insns(tb);
  qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &insns, n);
  if (!blocks_path) return;
  struct block *b = calloc(1, sizeof *b);
  if (!b) return;
  b->vaddr = qemu_plugin_tb_vaddr(tb);
  b->n = n;
  b->next = blocks;
  blocks = b;
  qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &b->runs, 1);
}

static void at_exit_report(qemu_plugin_id_t id, void *userdata) {
  char line[64];
  (void)id; (void)userdata;
  snprintf(line, sizeof line, "insn-count %" PRIu64 "\n", insns);
  qemu_plugin_outs(line);
  if (!blocks_path) return;
  FILE *f = fopen(blocks_path, "w");
  if (!f) { qemu_plugin_outs("insn-count: cannot write the blocks file\n"); return; }
  for (struct block *b = blocks; b; b = b->next)
    if (b->runs) fprintf(f, "%" PRIx64 " %" PRIu64 " %" PRIu64 "\n", b->vaddr, b->n, b->runs);
  fclose(f);
}

EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const struct qemu_info_t *info, int argc, char **argv) {
  (void)info;
  for (int i = 0; i < argc; i++) if (!strncmp(argv[i], "blocks=", 7)) blocks_path = argv[i] + 7;
  qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
  qemu_plugin_register_atexit_cb(id, at_exit_report, NULL);
  return 0;
}
