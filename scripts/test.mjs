#!/usr/bin/env node
// The whole test suite: `npm test` (what .ci/run and the README call).
//   npm test                  every test/**/*.test.ts
//   npm test -- tokenizer     only files whose path contains "tokenizer"
// Runs every file under one uvu runner, then prints uvu's own summary and a plain
// "N passed, N failed" line for tools that read closing lines.
import { readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { spawnSync } from 'node:child_process';
import { register } from 'tsx/esm/api';

const root = resolve(import.meta.dirname, '..');
const filters = process.argv.slice(2);

// Debian tools (wabt, qemu, cross compilers) the engine tests need; a no-op when present.
const setup = join(root, 'scripts/setup-deps.sh');
try {
  statSync(setup);
  const r = spawnSync('bash', [setup], { stdio: 'inherit' });
  if (r.status !== 0) { console.error('scripts/setup-deps.sh failed'); process.exit(1); }
} catch { /* no system dependencies yet */ }

function findTests(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...findTests(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const files = findTests(join(root, 'test'))
  .filter((f) => filters.length === 0 || filters.some((s) => relative(root, f).includes(s)));
if (files.length === 0) { console.error(`no test files match ${filters.join(' ')}`); process.exit(1); }

register();
globalThis.UVU_DEFER = 1;
const uvu = await import('uvu');

let captured = '';
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = (chunk, ...rest) => { captured += String(chunk); return write(chunk, ...rest); };

globalThis.UVU_QUEUE = globalThis.UVU_QUEUE || [];
for (const [i, f] of files.entries()) {
  globalThis.UVU_INDEX = i;
  globalThis.UVU_QUEUE.push([relative(root, f)]);
  await import(pathToFileURL(f).href);
}
await uvu.exec(false);

process.stdout.write = write;
const plain = captured.replace(/\x1b\[[0-9;]*m/g, '');
const total = Number(/Total:\s+(\d+)/.exec(plain)?.[1] ?? NaN);
const passed = Number(/Passed:\s+(\d+)/.exec(plain)?.[1] ?? NaN);
const skipped = Number(/Skipped:\s+(\d+)/.exec(plain)?.[1] ?? 0);
const failed = total - passed; // uvu's Total excludes skipped tests
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
if (failed !== 0 || !Number.isFinite(total)) process.exitCode = 1;
