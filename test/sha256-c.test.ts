// targets/hosts/common/sha256.c, the SHA-256 the C hosts check artifacts with: the NIST
// FIPS 180-4 example vectors, every length 0..300 (all padding cases) and a 1 MiB buffer fed
// in odd-sized pieces, against node:crypto; the hex parser and the comparison.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './helpers/models.ts';
import { which } from '../compiler/engines/proc.ts';

const tmp = mkdtempSync(join(tmpdir(), 'edgeq-sha256-'));
const exe = join(tmp, 'sha256-test');
const haveCc = which('gcc') !== null;
if (!haveCc && process.env.CI) throw new Error('CI: gcc missing');

// Reads stdin; "hash <chunk>" hashes it fed in pieces of <chunk> bytes; "parse <hex>" and
// "equal <hex> <hex>" exercise the helpers.
const DRIVER = `
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sha256.h"
int main(int argc, char **argv) {
  if (argc < 2) return 2;
  if (!strcmp(argv[1], "hash")) {
    size_t cap = 1 << 22, n = 0, k; uint8_t *buf = malloc(cap);
    while ((k = fread(buf + n, 1, cap - n, stdin)) > 0) n += k;
    size_t chunk = (size_t)atoi(argv[2]);
    eq_sha256_ctx c; eq_sha256_init(&c);
    for (size_t off = 0; off < n; off += chunk) eq_sha256_update(&c, buf + off, n - off < chunk ? n - off : chunk);
    uint8_t d[32]; eq_sha256_final(&c, d);
    for (int i = 0; i < 32; i++) printf("%02x", d[i]);
    printf("\\n"); return 0;
  }
  uint8_t a[32], b[32];
  if (!strcmp(argv[1], "parse")) { int r = eq_sha256_parse_hex(argv[2], a); printf("%d", r); if (!r) for (int i = 0; i < 32; i++) printf(" %02x", a[i]); printf("\\n"); return 0; }
  if (!strcmp(argv[1], "equal")) { eq_sha256_parse_hex(argv[2], a); eq_sha256_parse_hex(argv[3], b); printf("%d\\n", eq_sha256_equal(a, b)); return 0; }
  return 2;
}`;

function build() {
  writeFileSync(join(tmp, 'driver.c'), DRIVER);
  const r = spawnSync('gcc', ['-O2', '-Wall', '-Wextra', '-Werror', '-std=c99', `-I${join(ROOT, 'targets/hosts/common')}`,
    join(tmp, 'driver.c'), join(ROOT, 'targets/hosts/common/sha256.c'), '-o', exe], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
}
const run = (args: string[], input: Uint8Array = new Uint8Array(0)) => {
  const r = spawnSync(exe, args, { input, encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  return r.stdout.trim();
};
const node = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

test('builds with -Wall -Wextra -Werror', () => { if (haveCc) build(); });

test('NIST FIPS 180-4 vectors', () => {
  if (!haveCc) return;
  const vectors: Array<[string, string]> = [
    ['', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    ['abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq', '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1'],
    ['abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu',
      'cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1'],
    ['a'.repeat(1_000_000), 'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0'],
  ];
  for (const [msg, want] of vectors) {
    for (const chunk of ['1', '63', '64', '1000']) {
      if (msg.length > 10000 && chunk === '1') continue;
      assert.is(run(['hash', chunk], Buffer.from(msg)), want, `${msg.slice(0, 20)}… in ${chunk}-byte pieces`);
    }
  }
});

test('every length 0..300 and 1 MiB in odd pieces match node:crypto', () => {
  if (!haveCc) return;
  let x = 12345;
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => { x = (x * 1103515245 + 12345) >>> 0; return x >>> 24; });
  for (let n = 0; n <= 300; n++) {
    const b = bytes(n);
    assert.is(run(['hash', String(1 + (n % 70))], b), node(b), `length ${n}`);
  }
  const big = bytes(1 << 20);
  assert.is(run(['hash', '4093'], big), node(big), '1 MiB');
});

test('hex parsing and comparison', () => {
  if (!haveCc) return;
  const h = node(Buffer.from('x'));
  assert.is(run(['parse', h]), `0 ${h.match(/../g)!.join(' ')}`);
  assert.is(run(['parse', h.toUpperCase()]).split(' ')[0], '0');
  assert.is(run(['parse', h.slice(0, 63)]), '-1', 'too short');
  assert.is(run(['parse', `${h}0`]), '-1', 'too long');
  assert.is(run(['parse', `${h.slice(0, 10)}g${h.slice(11)}`]), '-1', 'not hex');
  assert.is(run(['equal', h, h]), '1');
  assert.is(run(['equal', h, `${h.slice(0, 63)}${h[63] === '0' ? '1' : '0'}`]), '0', 'last nibble differs');
});

test('cleanup', () => { rmSync(tmp, { recursive: true, force: true }); });

test.run();
