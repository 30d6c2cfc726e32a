#!/usr/bin/env node
// The whole test suite: `npm test` (what .ci/run and the README call).
//   npm test                  every test/**/*.test.ts, spread over all cores
//   npm test -- tokenizer     only files whose path contains "tokenizer"
//   npm run test:quick        the edit loop: every file not marked `// tier: slow`
// Options (after `--`): --jobs N (default: the number of cores), --quick.
//
// Files run in a pool of long-lived worker processes (scripts/test-worker.mjs), longest
// first (durations of the last full run, kept in the edgeq cache), so both cores stay busy
// to the end. Each file's output is printed whole when it finishes, then uvu's summary, the
// ten slowest files and a plain "N passed, N failed" line for tools that read closing lines.
import { fork, spawnSync } from 'node:child_process';
import { availableParallelism, homedir } from 'node:os';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const jobsAt = args.indexOf('--jobs');
const jobs = jobsAt >= 0 ? Number(args[jobsAt + 1]) : Number(process.env.EDGEQ_TEST_JOBS || availableParallelism());
const filters = args.filter((a, i) => !a.startsWith('--') && !(jobsAt >= 0 && i === jobsAt + 1));
if (!(jobs >= 1)) { console.error('test: --jobs takes a whole number >= 1'); process.exit(2); }

// Debian tools (wabt, qemu, cross compilers) the engine tests need; a no-op when present.
const setup = join(root, 'scripts/setup-deps.sh');
if (existsSync(setup)) {
  const r = spawnSync('bash', [setup], { stdio: 'inherit' });
  if (r.status !== 0) { console.error('scripts/setup-deps.sh failed'); process.exit(1); }
}

function findTests(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...findTests(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

/** A file opts out of the quick tier with a `// tier: slow` line among its first lines. */
const isSlow = (f) => /^\/\/ tier: slow\b/m.test(readFileSync(f, 'utf8').slice(0, 2000));

const files = findTests(join(root, 'test'))
  .filter((f) => filters.length === 0 || filters.some((s) => relative(root, f).includes(s)))
  .filter((f) => !quick || !isSlow(f));
if (files.length === 0) { console.error(`no test files match ${filters.join(' ')}`); process.exit(1); }

// Longest first: the durations of earlier runs (a hint only; unknown files go first).
const cacheDir = process.env.EDGEQ_CACHE || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'edgeq');
const timesFile = join(cacheDir, 'test-durations.json');
let known = {};
try { known = JSON.parse(readFileSync(timesFile, 'utf8')); } catch { /* first run */ }
const rel = (f) => relative(root, f);
const queue = [...files].sort((a, b) => (known[rel(b)] ?? Infinity) - (known[rel(a)] ?? Infinity));

const started = process.hrtime.bigint();
const results = [];
let next = 0;

async function worker() {
  const child = fork(join(root, 'scripts/test-worker.mjs'), [], {
    cwd: root,
    execArgv: ['--no-turbo-fast-api-calls'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const messages = [];
  let wake = null;
  child.on('message', (m) => { messages.push(m); wake?.(); });
  let exited = false;
  child.on('exit', () => { exited = true; wake?.(); });
  const receive = async () => {
    while (messages.length === 0 && !exited) await new Promise((r) => { wake = r; });
    wake = null;
    return messages.shift();
  };
  if ((await receive())?.type !== 'ready') throw new Error('test worker did not start');
  let current = null;
  while (next < queue.length) {
    current = queue[next++];
    child.send({ type: 'run', rel: rel(current), abs: current });
    const m = await receive();
    if (!m) { // the worker died (a crash, an out-of-memory): the file fails, a new worker goes on
      results.push({ rel: rel(current), total: 1, passed: 0, skipped: 0, ms: 0, output: `${rel(current)}\n  ✘ the test worker died while running this file\n` });
      return worker();
    }
    process.stdout.write(`${m.output}\n`);
    results.push(m);
  }
  child.send({ type: 'exit' });
}

await Promise.all(Array.from({ length: Math.min(jobs, queue.length) }, () => worker()));

const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
const total = results.reduce((s, r) => s + r.total, 0);
const passed = results.reduce((s, r) => s + r.passed, 0);
const skipped = results.reduce((s, r) => s + r.skipped, 0);
const failed = total - passed; // as in uvu, Total excludes skipped tests

if (filters.length === 0 && !quick) {
  for (const r of results) known[r.rel] = Math.round(r.ms);
  try { mkdirSync(dirname(timesFile), { recursive: true }); writeFileSync(timesFile, JSON.stringify(known, null, 1)); } catch { /* a hint only */ }
}

const slowest = [...results].sort((a, b) => b.ms - a.ms).slice(0, 10);
console.log(`Slowest files (${jobs} workers):`);
for (const r of slowest) console.log(`  ${(r.ms / 1000).toFixed(1).padStart(7)} s  ${r.rel}`);
const failing = results.filter((r) => r.passed < r.total).map((r) => r.rel);
if (failing.length) console.log(`\nFiles with failures:\n${failing.map((f) => `  ${f}`).join('\n')}`);

// uvu's own summary format, summed over the workers.
console.log(`\n  Total:     ${total}\n  Passed:    ${passed}\n  Skipped:   ${skipped}\n  Duration:  ${(wallMs / 1000).toFixed(1)}s\n`);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
if (failed !== 0 || results.length !== queue.length) process.exitCode = 1;
