// `npm run bench -- compile` (issue 14): wall time and peak RSS of `edgeq compile` at int8
// and at 4 bits for synthetic models of the 15M, 110M and 1.1B (tinyllama, F16 GGUF source)
// shapes, next to the time to read the source file once. Each run is a fresh process
// (rate = 1 / wall seconds); peak RSS is the child's, printed below the table because the
// table holds rates. Sources are written once by `edgeq synth` into a cache directory
// (EDGEQ_BENCH_COMPILE_DIR, default the system temp dir; the 1.1B file is 2.2 GB) and kept.
// EDGEQ_BENCH_COMPILE_SHAPES limits the shapes (comma-separated; default all three).
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { BenchCase, BenchSection } from './harness.ts';

const ROOT = resolve(import.meta.dirname, '..');
const SOURCES = [
  { shape: 'stories15M', format: 'v0', file: 'stories15M.bin' },
  { shape: 'stories110M', format: 'v0', file: 'stories110M.bin' },
  { shape: 'tinyllama-1.1B', format: 'gguf-f16', file: 'tinyllama-1.1B-f16.gguf' },
];
const PLANS = [['int8', 'uniform:8'], ['4-bit', 'uniform:4']] as const;

/** Peak RSS (MB) of the last run of each case, printed after the table. */
const peaks = new Map<string, number>();

/** Wall seconds of `node <args>` in a child, recording its peak RSS (GNU time's %M, KB). */
function timed(name: string, args: string[]): number {
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', 'maxrss %M', process.execPath, ...args], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 26 });
  const s = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`compile bench: ${args.join(' ')} failed: ${r.stderr}`);
  const m = /maxrss (\d+)/.exec(r.stderr);
  if (m) peaks.set(name, Number(m[1]) / 1024);
  return s;
}

/** Seconds to read `path` once, sequentially in 4 MB chunks (page cache as the compile meets it). */
function readOnce(path: string): number {
  const t0 = performance.now();
  const fd = openSync(path, 'r'), buf = Buffer.alloc(1 << 22);
  try { for (let pos = 0, n; (n = readSync(fd, buf, 0, buf.length, pos)) > 0; pos += n); } finally { closeSync(fd); }
  return (performance.now() - t0) / 1000;
}

const section: BenchSection = {
  id: 'compile',
  title: 'edgeq compile (fresh process per run; rate = 1 / wall seconds; peak RSS below)',
  cases() {
    const dir = process.env.EDGEQ_BENCH_COMPILE_DIR ?? join(tmpdir(), 'edgeq-bench-compile');
    mkdirSync(dir, { recursive: true });
    const out = mkdtempSync(join(tmpdir(), 'edgeq-bench-compile-out-'));
    process.on('exit', () => {
      rmSync(out, { recursive: true, force: true });
      if (peaks.size) console.log(`peak RSS (MB): ${[...peaks].map(([k, v]) => `${k} ${v.toFixed(0)}`).join('; ')}`);
    });
    const want = process.env.EDGEQ_BENCH_COMPILE_SHAPES?.split(',');
    const cases: BenchCase[] = [];
    for (const s of SOURCES.filter((x) => !want || want.includes(x.shape))) {
      const src = join(dir, s.file);
      if (!existsSync(src)) {
        const r = spawnSync(process.execPath, ['bin/edgeq.mjs', 'synth', '--shape', s.shape, '--format', s.format, '-o', src], { cwd: ROOT, stdio: 'inherit' });
        if (r.status !== 0) throw new Error(`compile bench: synth ${s.shape} failed`);
      }
      const big = s.shape !== 'stories15M'; // one run each: minutes per compile
      cases.push({ name: `${s.shape}: read source once`, unit: 'reads/s', runs: 3, selfTimed: true, run: () => readOnce(src) });
      for (const [label, plan] of PLANS) {
        const name = `${s.shape}: compile ${label}`;
        cases.push({
          name, unit: 'compiles/s', selfTimed: true, warmup: 0, runs: big ? 1 : 3,
          run: () => timed(name, ['bin/edgeq.mjs', 'compile', src, '--plan', plan, '--vectors', '0', '-o', join(out, 'b')]),
        });
      }
    }
    return cases;
  },
};
export default section;
