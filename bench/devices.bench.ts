// Devices (issue 17): how fast an edgeq bundle is where it runs, next to llama.cpp built for
// the same machine, per shape (stories15M, stories110M; synthetic weights, seed 1) and plan
// (int8; 4-bit; 4-bit + cls4 and 2-bit + cls4 at 110M — low-bit weights are random valid
// codes as in bench/lowbit.bench.ts; speed does not depend on the values).
//
//  - timed (CPU time, interleaved rounds, bench/harness.ts): the SIMD runtime in V8 (one
//    thread; and 1 against 2 threads by the wall clock), and on x86-64 natively the wasm2c scalar and SIMD builds and llama.cpp's
//    native CPU build (Q8_0 for int8, Q4_0 for 4-bit, Q2_K for 2-bit; one thread). Child
//    processes are timed by their own CPU time; each run generates n1 and then n2 tokens
//    and the difference is the rate, so loading is not counted.
//  - counted under qemu-user (bench/devices/insn-count.ts): guest instructions per token
//    on AArch64 and RISC-V for edgeq's scalar and SIMD wasm2c builds and for llama.cpp's
//    cross builds (AArch64 NEON; RISC-V with RVV 1.0, VLEN 128).
//
// EDGEQ_DEVICES_SHAPES=stories110M (comma list) and EDGEQ_DEVICES_PLANS=int8,4-bit limit the
// cases; EDGEQ_DEVICES_NO_QEMU=1 skips the instruction counts (they take minutes).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchCase, BenchSection, ChildWork } from './harness.ts';
import { greedyRuntime } from './decode.ts';
import { wallRun } from './threads.bench.ts';
import { threadedRuntime } from '../compiler/engines/threaded-runtime.ts';
import { randomLowbit } from './lowbit.bench.ts';
import { insnsPerToken } from './devices/insn-count.ts';
import { llamaBenchArgs, llamaCpp, PEER_ARCHES, peerMissing, peerModel, type PeerArch, type PeerQuant } from './peers/llama-cpp.ts';
import { bundleFromQuant } from '../compiler/bundle.ts';
import { buildRuntime } from '../compiler/codegen/runtime.ts';
import { loadTarget } from '../compiler/target/profile.ts';
import { WasmRuntime } from '../compiler/engines/wasm-runtime.ts';
import { buildLinuxHost, type LinuxArch } from '../compiler/engines/wasm2c.ts';
import { arch as x86 } from '../compiler/engines/wasm2c-x86_64.ts';
import { arch as aarch64 } from '../compiler/engines/wasm2c-aarch64.ts';
import { arch as riscv64 } from '../compiler/engines/wasm2c-riscv64.ts';
import { quantizeInt8 } from '../compiler/quantize/int8.ts';
import type { QuantModel } from '../compiler/quantize/quant-model.ts';
import { SHAPES, synthWeights } from '../compiler/synth/synth.ts';
import { formatNameOfBits, type PlanBits } from '../compiler/quantize/formats/registry.ts';

export const GS = 64;
export interface Plan { label: string; bits: PlanBits; cls?: PlanBits; peer: PeerQuant }
export const PLANS: Plan[] = [
  { label: 'int8', bits: 8, peer: 'Q8_0' },
  { label: '4-bit', bits: 4, peer: 'Q4_0' },
  { label: '4-bit + cls4', bits: 4, cls: 4, peer: 'Q4_0' },
  { label: '2-bit + cls4', bits: 2, cls: 4, peer: 'Q2_K' },
];
const SHAPE_PLANS: Record<'stories15M' | 'stories110M', string[]> = { stories15M: ['int8', '4-bit'], stories110M: PLANS.map((p) => p.label) };
/** Tokens of the two runs whose difference is measured: timed natively, counted under qemu. */
const NATIVE = { stories15M: [8, 72], stories110M: [4, 20] } as const;
const QEMU = { stories15M: [2, 6], stories110M: [1, 3] } as const;

/** CPU seconds (user + system) a child process took, from bash's `times`. */
function childCpu(cmd: string, args: string[]): number {
  const r = spawnSync('bash', ['-c', '"$@" >/dev/null 2>&1; s=$?; times; exit $s', 'child', cmd, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status ?? r.signal}`);
  const line = r.stdout.trim().split('\n')[1] ?? '';
  const secs = [...line.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  if (secs.length !== 2) throw new Error(`cannot read the child's CPU time from "${r.stdout}"`);
  return secs[0] + secs[1];
}

/** A timed case body: n2 - n1 tokens, at the CPU-time difference of the two runs. */
function diffRun(cmd: string, argsFor: (n: number) => string[], [n1, n2]: readonly [number, number]): () => ChildWork {
  return () => ({ units: n2 - n1, cpuSeconds: Math.max(1e-6, childCpu(cmd, argsFor(n2)) - childCpu(cmd, argsFor(n1))) });
}

const list = (env: string | undefined) => env?.split(',').map((s) => s.trim()).filter(Boolean);

/**
 * A plan's bundle of the synthetic shape (int8 weights `q8`), its artifact written into
 * `dir`, and the two runtime builds the native engines run: the bundle's SIMD runtime
 * (wasm32 target) and the scalar build of the same program, as the conformance engines
 * regenerate it (runtime-flavour.ts). Also scripts/insn-profile.ts's bundle.
 */
export async function deviceBundle(q8: QuantModel, shape: string, plan: Plan, dir: string) {
  const model = plan.bits === 8 ? q8 : randomLowbit(q8, plan.bits, 1, plan.cls);
  const b = await bundleFromQuant({
    model, plan: { kind: 'uniform' as const, bits: plan.bits, groupSize: plan.bits === 8 ? 0 : GS, ...(plan.cls ? { classifier: { format: formatNameOfBits(plan.cls), bits: plan.cls, groupSize: GS } } : {}) },
    planName: plan.label, sourceSha256: new Uint8Array(32), sourcePath: 'bench', vectors: 0, target: loadTarget('wasm32'),
  });
  const artifact = join(dir, `${shape}-${plan.bits}-${plan.cls ?? 8}.edgeq`);
  writeFileSync(artifact, b.files['model.edgeq']);
  const c = b.contents;
  const scalar = await buildRuntime(c.config, c.program, { name: c.target.name, simd: false });
  const builds = { SIMD: { wasm: b.files['runtime.wasm'], artifact }, scalar: { wasm: scalar.wasm, artifact } };
  return { model, b, artifact, builds };
}

const section: BenchSection = {
  id: 'devices',
  title: 'devices: edgeq vs llama.cpp per shape and plan (x86-64 natively, one thread, CPU time; V8 one thread; instructions per token under qemu-user)',
  async cases() {
    const shapes = (list(process.env.EDGEQ_DEVICES_SHAPES) ?? ['stories15M', 'stories110M']) as Array<keyof typeof SHAPE_PLANS>;
    const plans = list(process.env.EDGEQ_DEVICES_PLANS);
    const qemu = !process.env.EDGEQ_DEVICES_NO_QEMU;
    const log = (s: string) => console.log(`  (${s})`);
    const dir = mkdtempSync(join(tmpdir(), 'edgeq-devices-'));
    const cases: BenchCase[] = [];
    const counts: string[][] = [];
    const peerOk = peerMissing('x86_64');
    if (peerOk) log(`llama.cpp not measured: ${peerOk}`);
    for (const shape of shapes) {
      const q8 = quantizeInt8(synthWeights({ ...SHAPES[shape] }, 1));
      for (const plan of PLANS.filter((p) => SHAPE_PLANS[shape].includes(p.label) && (!plans || plans.includes(p.label)))) {
        const { model, b, artifact, builds } = await deviceBundle(q8, shape, plan, dir);
        const v8 = await WasmRuntime.create(b.files['runtime.wasm'], b.files['model.edgeq'], model.params.vocabSize);
        const name = `${shape} ${plan.label}`;
        const peerId = `devices/${name} llama.cpp ${plan.peer} x86-64`;
        const hasPeer = !peerOk && !(shape === 'stories15M' && plan.peer === 'Q2_K');
        const [v1, v2] = NATIVE[shape];
        cases.push({ name: `${name} V8 SIMD 1 thread`, unit: 'tok/s', runs: 3, run: () => greedyRuntime(v8, v2 - v1), baseline: hasPeer ? peerId : undefined });
        // 2 threads (the threaded flavour, one worker) against 1, by the wall clock: CPU time
        // counts both threads and cannot show a speed-up (bench/threads.bench.ts says more).
        const v8two = await threadedRuntime({ runtimeWasm: b.files['runtime.wasm'], contents: b.contents }, b.files['model.edgeq'], 2, 'bench', log);
        cases.push({ name: `${name} V8 SIMD 1 thread, wall`, unit: 'tok/s', runs: 3, selfTimed: true, run: wallRun(v8, v2 - v1) });
        cases.push({ name: `${name} V8 SIMD 2 threads, wall`, unit: 'tok/s', runs: 3, selfTimed: true, run: wallRun(v8two, v2 - v1), baseline: `devices/${name} V8 SIMD 1 thread, wall` });
        for (const flavour of ['scalar', 'SIMD'] as const) {
          const exe = join((await buildLinuxHost(x86, builds[flavour].wasm, `wasm2c-x86_64${flavour === 'SIMD' ? '-simd' : ''}`, flavour === 'SIMD')).dir, 'edgeq-host');
          cases.push({
            name: `${name} wasm2c ${flavour} x86-64`, unit: 'tok/s', runs: 3, warmup: 0,
            run: diffRun(exe, (n) => [builds[flavour].artifact, 'bench', String(n)], NATIVE[shape]), baseline: hasPeer ? peerId : undefined,
          });
        }
        if (hasPeer) {
          const bin = await llamaCpp('x86_64', log);
          const gguf = await peerModel(shape, plan.peer, log);
          cases.push({ name: peerId.slice('devices/'.length), unit: 'tok/s', runs: 3, warmup: 0, run: diffRun(join(bin, 'llama-bench'), (n) => llamaBenchArgs(gguf, n), NATIVE[shape]) });
        }
        if (!qemu) continue;
        for (const a of [aarch64, riscv64] as LinuxArch[]) {
          const row = [name, a.name];
          for (const flavour of ['scalar', 'SIMD'] as const) {
            const exe = join((await buildLinuxHost(a, builds[flavour].wasm, `wasm2c-${a.name}`, flavour === 'SIMD')).dir, 'edgeq-host');
            log(`counting ${name} ${flavour} on ${a.name}...`);
            row.push((await insnsPerToken(a.emulator!, [], exe, (n) => [builds[flavour].artifact, 'bench', String(n)], QEMU[shape][0], QEMU[shape][1]) / 1e6).toFixed(1));
          }
          const arch = a.name as PeerArch;
          const why = peerMissing(arch) ?? (shape === 'stories15M' && plan.peer === 'Q2_K' ? 'no Q2_K at this shape' : null);
          if (why) row.push(`- (${why})`);
          else {
            const bin = await llamaCpp(arch, log);
            const gguf = await peerModel(shape, plan.peer, log);
            log(`counting llama.cpp ${plan.peer} on ${a.name}...`);
            const p = await insnsPerToken(PEER_ARCHES[arch].emulator!, PEER_ARCHES[arch].qemuArgs, join(bin, 'llama-bench'), (n) => llamaBenchArgs(gguf, n), QEMU[shape][0], QEMU[shape][1]);
            row.push(`${(p / 1e6).toFixed(1)} (${plan.peer})`, `${(Number(row[3]) / (p / 1e6)).toFixed(2)}x`);
          }
          counts.push(row);
        }
      }
    }
    if (counts.length) {
      console.log('\n## devices: guest instructions per generated token under qemu-user (millions; difference of two runs; bench/devices/insn-count.c)\n');
      const head = ['case', 'ISA', 'edgeq scalar', 'edgeq SIMD', 'llama.cpp', 'SIMD / llama.cpp'];
      const rows = [head, head.map((h) => '-'.repeat(h.length)), ...counts];
      const w = head.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
      for (const r of rows) console.log(r.map((c, i) => (c ?? '').padEnd(w[i])).join('  ').trimEnd());
      console.log(`\nllama.cpp builds: ${(['aarch64', 'riscv64'] as PeerArch[]).map((a) => `${a}: ${PEER_ARCHES[a].note}`).join('; ')}. edgeq's builds: SIMDe's NEON mapping on AArch64, its portable C on RISC-V (no RVV in SIMDe 0.7.4); no vector extension used by the scalar builds.`);
    }
    return cases;
  },
};
export default section;
