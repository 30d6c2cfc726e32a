// Out-of-bounds accesses in the wasm2c builds (targets/hosts/wasm-rt): the Linux hosts catch
// them with guard pages (wasm-rt-impl.c), the boards with a compare per access; either way
// an access past the memory's size is the out-of-bounds trap (exit 70), a grown page is
// readable and zero, and nothing else changes. A small module (a load at an address, a load
// with a 2 GiB static offset, memory.grow) is translated by the same wasm2c and compiled
// with each Linux arch's flags (compiler/engines/wasm2c.ts archFlags), and again with
// explicit checks, and each build must give the same answers: these, written by hand from
// wasm's rules, not by running anything.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { ROOT } from './helpers/models.ts';
import { which } from '../compiler/engines/proc.ts';
import { archFlags, C_FLAGS, WASM_RT_DIR, type LinuxArch } from '../compiler/engines/wasm2c.ts';
import { wabtTool } from '../compiler/engines/wabt.ts';
import { arch as x86 } from '../compiler/engines/wasm2c-x86_64.ts';
import { arch as aarch64 } from '../compiler/engines/wasm2c-aarch64.ts';
import { arch as riscv64 } from '../compiler/engines/wasm2c-riscv64.ts';

const WAT = `(module
  (memory 1 4)
  (func (export "load") (param i32) (result i32) local.get 0 i32.load8_u)
  (func (export "load_far") (param i32) (result i32) local.get 0 i32.load8_u offset=0x80000000)
  (func (export "store") (param i32) local.get 0 i32.const 7 i32.store8)
  (func (export "grow") (param i32) (result i32) local.get 0 memory.grow))`;

// Runs "l:<addr>" (load), "f:<addr>" (load at addr + 2^31), "s:<addr>" (store 7 there),
// "g:<pages>" (grow) in order, printing each result.
const DRIVER = `
#include <stdio.h>
#include <stdlib.h>
#include "guard.h"
int main(int argc, char **argv) {
  wasm_rt_init();
  w2c_guard g;
  wasm2c_guard_instantiate(&g);
  for (int i = 1; i < argc; i++) {
    char op = argv[i][0];
    u32 v = (u32)strtoul(argv[i] + 2, NULL, 0);
    if (op == 'l') printf("load %u = %u\\n", v, w2c_guard_load(&g, v));
    else if (op == 'f') printf("far %u = %u\\n", v, w2c_guard_load_far(&g, v));
    else if (op == 's') { w2c_guard_store(&g, v); printf("store %u\\n", v); }
    else if (op == 'g') printf("grow %u = %d\\n", v, (int)w2c_guard_grow(&g, v));
    fflush(stdout);
  }
  return 0;
}`;

const tmp = mkdtempSync(join(tmpdir(), 'edgeq-guard-'));
const w2c = wabtTool('wasm2c');
const TRAP = 'edgeq: wasm trap: out-of-bounds memory access';

async function sources(): Promise<void> {
  type Wabt = { parseWat(name: string, text: string): { toBinary(o: object): { buffer: Uint8Array } } };
  const wabt = await (createRequire(import.meta.url)('wabt') as () => Promise<Wabt>)();
  writeFileSync(join(tmp, 'guard.wasm'), wabt.parseWat('guard.wat', WAT).toBinary({}).buffer);
  const r = spawnSync(w2c!.cmd, [...w2c!.args, join(tmp, 'guard.wasm'), '-n', 'guard', '-o', join(tmp, 'guard.c')], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  writeFileSync(join(tmp, 'driver.c'), DRIVER);
}

/** Builds the module with `flags`; the executable's path. */
function build(arch: LinuxArch, flags: string[], name: string): string {
  const exe = join(tmp, name);
  const r = spawnSync(arch.cc, [...flags, `-I${WASM_RT_DIR}`, `-I${tmp}`, join(tmp, 'driver.c'), join(tmp, 'guard.c'), join(WASM_RT_DIR, 'wasm-rt-impl.c'), '-o', exe, '-lm'],
    { encoding: 'utf8', cwd: ROOT });
  assert.is(r.status, 0, `${arch.cc}: ${r.stderr}`);
  return exe;
}

function run(arch: LinuxArch, exe: string, ops: string[]): { status: number | null; out: string; err: string } {
  const [cmd, args] = arch.emulator ? [arch.emulator, [exe, ...ops]] : [exe, ops];
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, out: r.stdout.trim(), err: r.stderr.trim() };
}

// [ops, expected stdout lines, trapped?]
const CASES: Array<[string[], string[], boolean]> = [
  [['l:0', 's:65535', 'l:65535'], ['load 0 = 0', 'store 65535', 'load 65535 = 7'], false],
  [['l:65535', 'l:65536'], ['load 65535 = 0'], true],
  [['s:65536'], [], true],
  [['g:1', 'l:65536', 'l:131071', 's:131071', 'l:131071', 'l:131072'], ['grow 1 = 1', 'load 65536 = 0', 'load 131071 = 0', 'store 131071', 'load 131071 = 7'], true],
  [['g:2', 'g:2', 'l:196607', 'l:196608'], ['grow 2 = 1', 'grow 2 = -1', 'load 196607 = 0'], true], // max 4 pages: 3 then
  [['f:0'], [], true], // 2 GiB past the base
  [['l:4294967295'], [], true],
];

const ARCHES: LinuxArch[] = [x86, aarch64, riscv64];

test('an out-of-bounds access is the same trap with guard pages and with explicit checks, on every Linux arch', async () => {
  if (!w2c) { if (process.env.CI) throw new Error('CI: npm wabt missing'); return; }
  await sources();
  let ran = 0;
  for (const arch of ARCHES) {
    const missing = [arch.cc, arch.emulator].filter((t): t is string => !!t && which(t) === null);
    if (missing.length) { if (process.env.CI) throw new Error(`CI: ${missing.join(', ')} missing`); continue; }
    const builds = {
      guard: build(arch, archFlags(arch, false), `guard-${arch.name}`),
      checked: build(arch, [...C_FLAGS, ...arch.flags], `checked-${arch.name}`),
    };
    assert.ok(archFlags(arch, false).includes('-DWASM_RT_MEMCHECK_GUARD_PAGES=1'), 'the Linux hosts build with guard pages');
    for (const [kind, exe] of Object.entries(builds)) {
      for (const [ops, lines, trapped] of CASES) {
        const r = run(arch, exe, ops);
        const what = `${arch.name} ${kind} ${ops.join(' ')}`;
        assert.equal(r.out === '' ? [] : r.out.split('\n'), lines, `${what}: stdout`);
        assert.is(r.status, trapped ? 70 : 0, `${what}: exit status (stderr: ${r.err})`);
        if (trapped) assert.is(r.err, TRAP, `${what}: stderr`);
      }
    }
    ran++;
  }
  assert.ok(ran > 0 || !process.env.CI);
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));
test.run();
