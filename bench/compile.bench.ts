// `npm run bench -- compile` (issue 14): wall time and peak RSS of `edgeq compile` at int8
// and at 4 bits for synthetic models of the 15M, 110M and 1.1B (tinyllama, F16 GGUF source)
// shapes, next to the time to read the source file once. Each run is a fresh process; the
// table prints wall seconds (a rate of 1 / 200 s used to show as 0.00); the child's peak
// RSS and CPU seconds and the load average are printed below the table. Sources are written once by `edgeq synth` into a cache directory
// (EDGEQ_BENCH_COMPILE_DIR, default the system temp dir; the 1.1B file is 2.2 GB) and kept.
// EDGEQ_BENCH_COMPILE_SHAPES limits the shapes (comma-separated; default all three),
// EDGEQ_BENCH_COMPILE_CASES the cases (comma-separated substrings of their names).
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { BenchCase, BenchSection } from './harness.ts';

const ROOT = resolve(import.meta.dirname, '..');
const SOURCES = [
  { shape: 'stories15M', format: 'v0', file: 'stories15M.bin' },
  { shape: 'stories110M', format: 'v0', file: 'stories110M.bin' },
  { shape: 'tinyllama-1.1B', format: 'gguf-f16', file: 'tinyllama-1.1B-f16.gguf' },
];
const PLANS = [['int8', 'uniform:8'], ['4-bit', 'uniform:4']] as const;
/**
 * GPTQ (with its LUT-grid refit), AWQ, AWQ then GPTQ, and vq2 with GPTQ (issue 15), on the 110M
 * shape: all run the float model on self-generated calibration text, CAL_TOKENS tokens here
 * (the default 8192 would take hours at this size; the fold's α search does not depend on the
 * count, the calibration grows linearly with it).
 */
const AWQ_SHAPE = 'stories110M', CAL_TOKENS = 32;
const AWQ_CASES = [
  ['4-bit --gptq', 'uniform:4', ['--gptq']], ['4-bit --awq', 'uniform:4', ['--awq']], ['4-bit --awq --gptq', 'uniform:4', ['--awq', '--gptq']],
  ['vq2 --gptq', 'uniform:vq2', ['--gptq']],
] as const;

/** Peak RSS (MB), CPU seconds (user + system) and load average of the last run of each case, printed after the table. */
const peaks = new Map<string, { rss: number; cpu: number; load: number }>();

/** Wall seconds of `node <args>` in a child, recording its peak RSS and CPU time (GNU time's %M KB, %U, %S). */
function timed(name: string, args: string[]): number {
  const load = loadavg()[0];
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', 'maxrss %M cpu %U %S', process.execPath, ...args], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 26 });
  const s = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`compile bench: ${args.join(' ')} failed: ${r.stderr}`);
  const m = /maxrss (\d+) cpu ([\d.]+) ([\d.]+)/.exec(r.stderr);
  if (m) peaks.set(name, { rss: Number(m[1]) / 1024, cpu: Number(m[2]) + Number(m[3]), load });
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
  title: 'edgeq compile (fresh process per run; wall seconds; peak RSS, CPU and load below)',
  cases() {
    const dir = process.env.EDGEQ_BENCH_COMPILE_DIR ?? join(tmpdir(), 'edgeq-bench-compile');
    mkdirSync(dir, { recursive: true });
    const out = mkdtempSync(join(tmpdir(), 'edgeq-bench-compile-out-'));
    process.on('exit', () => {
      rmSync(out, { recursive: true, force: true });
      for (const [k, v] of peaks) console.log(`${k}: peak RSS ${v.rss.toFixed(0)} MB, CPU ${v.cpu.toFixed(1)} s, load average ${v.load.toFixed(2)} at the start`);
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
      cases.push({ name: `${s.shape}: read source once`, unit: 'reads/s', runs: 3, selfTimed: true, seconds: true, run: () => readOnce(src) });
      for (const [label, plan] of PLANS) {
        const name = `${s.shape}: compile ${label}`;
        cases.push({
          name, unit: 'compiles/s', selfTimed: true, seconds: true, warmup: 0, runs: big ? 1 : 3,
          run: () => timed(name, ['bin/edgeq.mjs', 'compile', src, '--plan', plan, '--vectors', '0', '-o', join(out, 'b')]),
        });
      }
      if (s.shape !== AWQ_SHAPE) continue;
      for (const [label, plan, flags] of AWQ_CASES) {
        const name = `${s.shape}: compile ${label} (${CAL_TOKENS} calibration tokens)`;
        cases.push({
          name, unit: 'compiles/s', selfTimed: true, seconds: true, warmup: 0, runs: 1,
          run: () => timed(name, ['bin/edgeq.mjs', 'compile', src, '--plan', plan, ...flags, '--calibration-tokens', String(CAL_TOKENS), '--vectors', '0', '-o', join(out, 'b')]),
        });
      }
    }
    const only = process.env.EDGEQ_BENCH_COMPILE_CASES?.split(',');
    return only ? cases.filter((c) => only.some((o) => c.name.includes(o))) : cases;
  },
};
export default section;
