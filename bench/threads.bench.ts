// Threads (issue 17): decode speed of the threaded V8 flavour (`edgeq run --threads N`,
// compiler/codegen/threads.ts) at 1 and 2 threads on the stories110M shape (synthetic
// weights, seed 1; low-bit weights random valid codes as in lowbit.bench.ts: speed does
// not depend on the values), int8 and 4-bit. One thread is the bundle's own SIMD runtime
// (what `--threads 1` runs); 2 threads the threaded SIMD flavour with one worker.
//
// Wall time, not CPU time: the harness's CPU time is this process's, which counts every
// thread, so it cannot show a speed-up. Each run times itself (selfTimed) and the cases
// are interleaved round by round as usual, so machine load hits both alike; the ratio is
// the median over rounds of the same-round wall-time ratio.
// On a machine busy with other jobs the wall time mostly measures the scheduler (a thread
// waits for one that is not running), so on Linux two more rows per plan time the main
// thread's own CPU time per token (/proc/self/task/<pid>/stat, 10 ms ticks): how much of
// the work the main thread still does, which is what bounds the speed-up when both threads
// have a core (it includes its polls for the worker's chunks).
// Native rows (x86-64): the same bundles in the Linux wasm2c host (`edgeq run --engine
// wasm2c`): 1 thread is the bundle's own SIMD runtime through wasm2c + SIMDe (gcc
// -march=native), 2 threads its threaded flavour on 2 pthreads (targets/hosts/linux/
// threads.c). Each run is a child process timed by the wall clock over n2 and n1 greedy
// positions (the host's bench mode), the difference divided by n2 - n1, so loading cancels.
// The load average is printed with them: read the wall-clock ratio with it. Two more rows
// per plan time the host's main thread (slot 0) by its own CPU clock, as for V8.
// EDGEQ_THREADS_SHAPE=stories15M picks a smaller shape (a quicker look).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchCase, BenchSection } from './harness.ts';
import { greedyRuntime } from './decode.ts';
import { randomLowbit } from './lowbit.bench.ts';
import { bundleFromQuant } from '../compiler/bundle.ts';
import { readArtifact } from '../compiler/emit/artifact-read.ts';
import { loadTarget } from '../compiler/target/profile.ts';
import { WasmRuntime } from '../compiler/engines/wasm-runtime.ts';
import { threadedRuntime } from '../compiler/engines/threaded-runtime.ts';
import { wasm2cHost } from '../compiler/engines/wasm2c.ts';
import { arch as x86_64 } from '../compiler/engines/wasm2c-x86_64.ts';
import { missingTools } from '../compiler/engines/proc.ts';
import { simdeMissing, wabtMissing } from '../compiler/engines/wabt.ts';
import { quantizeInt8 } from '../compiler/quantize/int8.ts';
import { SHAPES, synthWeights } from '../compiler/synth/synth.ts';

const GS = 64;
const PLANS = [{ label: 'int8', bits: 8 as const }, { label: '4-bit', bits: 4 as const }];
/** Tokens per timed run (greedy from BOS; positions restart at 0 each run). */
const TOKENS = { stories15M: 96, stories110M: 32 } as const;

/** A timed run of `tokens` positions: seconds per token, by the wall clock. */
export const wallRun = (rt: WasmRuntime, tokens: number) => () => {
  const t0 = performance.now();
  greedyRuntime(rt, tokens);
  return (performance.now() - t0) / 1000 / tokens;
};

/** Positions of the two native runs whose wall-time difference is timed. */
const NATIVE = { stories15M: [8, 200], stories110M: [4, 68] } as const;

/** The Linux host's bench mode over `n` positions: wall seconds of the process, and its main thread's CPU seconds over the positions. */
function hostBench(exe: string, artifactPath: string, threads: number, n: number): { wall: number; mainCpu: number } {
  const t0 = performance.now();
  const r = spawnSync(exe, [artifactPath, 'bench', String(n), ...(threads > 1 ? ['--threads', String(threads)] : [])], { encoding: 'utf8' });
  const wall = (performance.now() - t0) / 1000;
  const m = /^bench positions (\d+) main-thread-cpu-us (\d+)$/m.exec(r.stdout);
  if (r.status !== 0 || !m || Number(m[1]) !== n) throw new Error(`${exe} bench ${n}: exit ${r.status ?? r.signal}: ${r.stderr}${r.stdout}`);
  return { wall, mainCpu: Number(m[2]) / 1e6 };
}

/** A timed native case: the host at n2 and n1 positions; seconds per token of the difference, by the wall clock or (mainCpu) the main thread's CPU time. */
const nativeRun = (exe: string, artifactPath: string, threads: number, [n1, n2]: readonly [number, number], what: 'wall' | 'mainCpu') => () => {
  const a = hostBench(exe, artifactPath, threads, n1), b = hostBench(exe, artifactPath, threads, n2);
  return Math.max(1e-6, b[what] - a[what]) / (n2 - n1);
};

/** This process's main thread's CPU seconds so far (utime + stime; Linux), or null. */
const MAIN_STAT = `/proc/self/task/${process.pid}/stat`;
function mainThreadCpu(): number | null {
  if (!existsSync(MAIN_STAT)) return null;
  const f = readFileSync(MAIN_STAT, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // fields 14, 15, in USER_HZ = 100 ticks
}

/** A timed run of `tokens` positions: the main thread's CPU seconds per token. */
const mainCpuRun = (rt: WasmRuntime, tokens: number) => () => {
  const c0 = mainThreadCpu()!;
  greedyRuntime(rt, tokens);
  return Math.max(0.01, mainThreadCpu()! - c0) / tokens;
};

const section: BenchSection = {
  id: 'threads',
  title: 'threads: V8 and x86-64 wasm2c decode at 1 and 2 threads (the threaded flavour, GEMV rows split; wall time)',
  async cases() {
    const shape = (process.env.EDGEQ_THREADS_SHAPE ?? 'stories110M') as keyof typeof TOKENS;
    if (!TOKENS[shape]) throw new Error(`EDGEQ_THREADS_SHAPE: ${shape} is not one of ${Object.keys(TOKENS).join(', ')}`);
    const q8 = quantizeInt8(synthWeights({ ...SHAPES[shape] }, 1));
    const cases: BenchCase[] = [];
    const nativeMissing = wabtMissing() ?? simdeMissing() ?? missingTools([[x86_64.cc, x86_64.ccPackage]]);
    if (nativeMissing) console.log(`  (no wasm2c rows: ${nativeMissing})`);
    const tmp = mkdtempSync(join(tmpdir(), 'edgeq-threads-bench-'));
    process.once('exit', () => rmSync(tmp, { recursive: true, force: true })); // the artifacts the hosts read
    for (const plan of PLANS) {
      const model = plan.bits === 8 ? q8 : randomLowbit(q8, plan.bits, 1);
      const b = await bundleFromQuant({
        model, plan: { kind: 'uniform', bits: plan.bits, groupSize: plan.bits === 8 ? 0 : GS },
        planName: plan.label, sourceSha256: new Uint8Array(32), sourcePath: 'bench', vectors: 0, target: loadTarget('wasm32'),
      });
      const artifact = b.files['model.edgeq'], wasm = b.files['runtime.wasm'];
      const one = await WasmRuntime.create(wasm, artifact, model.params.vocabSize);
      const two = await threadedRuntime({ runtimeWasm: wasm, contents: readArtifact(artifact, 'bench') }, artifact, 2, 'bench', (m) => console.log(`  (${m})`));
      const name = `${shape} ${plan.label}`;
      cases.push({ name: `${name} 1 thread`, unit: 'tok/s', runs: 5, selfTimed: true, run: wallRun(one, TOKENS[shape]) });
      cases.push({ name: `${name} 2 threads`, unit: 'tok/s', runs: 5, selfTimed: true, run: wallRun(two, TOKENS[shape]), baseline: `threads/${name} 1 thread` });
      if (!nativeMissing) {
        const path = join(tmp, `${plan.bits}.edgeq`);
        writeFileSync(path, artifact);
        const bundle = { runtimeWasm: wasm, contents: readArtifact(artifact, 'bench') };
        const say = () => console.log('  (building a wasm2c host; cached for next time)');
        const oneExe = (await wasm2cHost(x86_64, bundle, 'simd', 'wasm2c-x86_64-simd', say)).exe;
        const twoExe = (await wasm2cHost(x86_64, bundle, 'threads', 'wasm2c-x86_64-threads', say)).exe;
        cases.push({ name: `${name} wasm2c 1 thread`, unit: 'tok/s', runs: 5, selfTimed: true, run: nativeRun(oneExe, path, 1, NATIVE[shape], 'wall') });
        cases.push({ name: `${name} wasm2c 2 threads`, unit: 'tok/s', runs: 5, selfTimed: true, run: nativeRun(twoExe, path, 2, NATIVE[shape], 'wall'), baseline: `threads/${name} wasm2c 1 thread` });
        // The main thread's CPU time (clock_gettime in the host, over the positions only).
        cases.push({ name: `${name} wasm2c 1 thread, main-thread CPU`, unit: 'tok/s', runs: 5, selfTimed: true, run: nativeRun(oneExe, path, 1, NATIVE[shape], 'mainCpu') });
        cases.push({
          name: `${name} wasm2c 2 threads, main-thread CPU`, unit: 'tok/s', runs: 5, selfTimed: true, run: nativeRun(twoExe, path, 2, NATIVE[shape], 'mainCpu'),
          baseline: `threads/${name} wasm2c 1 thread, main-thread CPU`,
        });
      }
      if (mainThreadCpu() === null) continue;
      cases.push({ name: `${name} 1 thread, main-thread CPU`, unit: 'tok/s', runs: 5, selfTimed: true, run: mainCpuRun(one, TOKENS[shape]) });
      cases.push({
        name: `${name} 2 threads, main-thread CPU`, unit: 'tok/s', runs: 5, selfTimed: true, run: mainCpuRun(two, TOKENS[shape]),
        baseline: `threads/${name} 1 thread, main-thread CPU`,
      });
    }
    console.log(`  load average before the runs: ${loadavg().map((x) => x.toFixed(2)).join(' ')} (1, 5, 15 min)`);
    return cases;
  },
};

export default section;
