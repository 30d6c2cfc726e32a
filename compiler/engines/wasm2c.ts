// wasm2c engines: a runtime build (scalar, or SIMD) translated to C by WABT's wasm2c
// (npm wabt 1.0.39, ./wabt.ts), compiled with the Linux host (targets/hosts/linux + common
// + our wasm2c runtime support targets/hosts/wasm-rt) natively or with a cross gcc, and run
// natively or under qemu-user. SIMD builds include SIMDe's wasm SIMD header, which maps
// each operation to NEON on AArch64, SSE/AVX on x86-64 and portable C elsewhere. Also the
// translation step the bare-metal firmware reuses.
//
// wasm2c-<arch>-threads runs the threaded flavour (compiler/codegen/threads.ts, for host
// 'wasm2c') of the bundle's own build on VERIFY_THREADS pthreads: the same host compiled
// with -DEQ_THREADS and targets/hosts/linux/threads.c (one instance per thread over one
// shared memory), as `edgeq run --engine wasm2c --threads N` runs it.
//
// Every step is cached by the SHA-256 of its inputs (./cache.ts): the C translation by the
// wasm bytes, wasm2c's version and our wasm-rt files; an executable by the C, the host
// sources, SIMDe's header, the compiler and its flags. The artifact is read at run time, so
// one executable serves every artifact a runtime build accepts.
import { copyFileSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { cachedBuild, sha256 } from './cache.ts';
import { parseSelftestLines, type Bundle, type Engine, type EngineRun, type EngineRunOptions } from './engine.ts';
import { missingTools, runStreaming, tool } from './proc.ts';
import { isSimdRuntime, runtimeFlavour, type RuntimeBuild } from './runtime-flavour.ts';
import { VERIFY_THREADS } from './threaded-runtime.ts';
import { MAX_THREADS } from '../codegen/threads.ts';
import { SIMDE_DIR, simdeMissing, wabtMissing, wabtTool } from './wabt.ts';
import { EdgeqError } from '../util/errors.ts';

export const HOSTS_DIR = resolve(import.meta.dirname, '../../targets/hosts');
/** Our wasm2c runtime support (wasm-rt.h, wasm-rt-impl.c) for wabt 1.0.39's output. */
export const WASM_RT_DIR = join(HOSTS_DIR, 'wasm-rt');

/** Every file of a host directory, for cache keys and manifests. */
export function hostFiles(...subdirs: string[]): Array<{ path: string; bytes: Uint8Array }> {
  const out: Array<{ path: string; bytes: Uint8Array }> = [];
  for (const d of subdirs) {
    const dir = join(HOSTS_DIR, d);
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isFile()) out.push({ path: `targets/hosts/${d}/${name}`, bytes: readFileSync(p) });
    }
  }
  return out;
}

/**
 * runtime.c / runtime.h for a runtime build, plus copies of our wasm-rt.h and
 * wasm-rt-impl.c, so that cross compilers never see the build machine's /usr/include.
 */
export async function wasm2cSources(wasm: Uint8Array, threads = false): Promise<{ dir: string; built: boolean }> {
  const w2c = wabtTool('wasm2c');
  if (!w2c) throw new EdgeqError(`cannot translate the runtime to C: ${wabtMissing()}`);
  const rt = hostFiles('wasm-rt');
  // The threaded flavour's shared memory and atomics are the threads proposal's.
  const features = threads ? ['--enable-threads'] : [];
  const key = sha256('wasm2c', w2c.id, features.join(' '), wasm, ...rt.flatMap((f) => [f.path, f.bytes]));
  return cachedBuild(key, (tmp) => {
    const input = join(tmp, 'runtime.wasm');
    for (const f of ['wasm-rt.h', 'wasm-rt-impl.c', SIMDE_OVERRIDES]) copyFileSync(join(WASM_RT_DIR, f), join(tmp, f));
    writeFileSync(input, wasm);
    tool(w2c.cmd, [...w2c.args, ...features, input, '-n', 'runtime', '-o', join(tmp, 'runtime.c')], { what: 'wasm2c', timeoutMs: 120_000 });
  });
}

/**
 * A directory holding only `simde` (a link to Debian's SIMDe headers): cross compilers get
 * SIMDe without the build machine's whole /usr/include.
 */
async function simdeInclude(): Promise<string> {
  const { dir } = await cachedBuild(sha256('simde-include', SIMDE_DIR), (tmp) => { symlinkSync(SIMDE_DIR, join(tmp, 'simde')); });
  return dir;
}

export interface LinuxArch {
  name: string;
  /** gcc driver and the Debian package holding it. */
  cc: string;
  ccPackage: string;
  /** qemu-user binary when the ISA is not this machine's, and its package. */
  emulator?: string;
  flags: string[];
  /** Extra flags for the SIMD build (x86-64: the host's vector ISA for SIMDe; AArch64: loop unrolling). */
  simdFlags?: string[];
}

/** C flags every wasm2c build uses: wasm's float rules even where no float should exist. */
export const C_FLAGS = ['-O2', '-ffp-contract=off', '-fno-strict-aliasing'];
/**
 * What the Linux hosts add: out-of-bounds accesses caught by guard pages instead of a
 * compare per load (targets/hosts/wasm-rt/wasm-rt.h; boards keep the explicit checks).
 */
const LINUX_FLAGS = ['-DWASM_RT_MEMCHECK_GUARD_PAGES=1'];
/**
 * Force-included ahead of runtime.c when it uses SIMDe: faster exact forms of a few SIMDe
 * operations (targets/hosts/wasm-rt/simde-overrides.h).
 */
const SIMDE_OVERRIDES = 'simde-overrides.h';

/** What a threaded build adds: targets/hosts/linux/threads.c and its switch, the runtime's thread limit, and pthreads. */
const THREAD_FLAGS = ['-DEQ_THREADS', `-DEQ_MAX_THREADS=${MAX_THREADS}`, '-pthread'];

/**
 * What a SIMD build adds on every arch: without gcc's tree PRE, which kept copies of the LUT
 * kernel's u16 accumulators alive across its loop's back edge (six vector moves per 16-byte
 * line on AArch64). 110M 4-bit, instructions per token: AArch64 139.1M -> 121.6M, x86-64
 * (AVX2) 138.8M -> 131.2M (docs/engines.md).
 */
const SIMD_C_FLAGS = ['-fno-tree-pre'];

/** The compiler flags of an arch's scalar or SIMD build, one-thread or threaded. */
export function archFlags(arch: LinuxArch, simd: boolean, threads = false): string[] {
  return [...C_FLAGS, ...LINUX_FLAGS, ...arch.flags, ...(simd ? [...SIMD_C_FLAGS, ...arch.simdFlags ?? []] : []), ...(threads ? THREAD_FLAGS : [])];
}

/**
 * The Linux host (targets/hosts/linux + common) around a runtime build, compiled with
 * `arch.cc` and cached by content; the executable is `<dir>/edgeq-host`. `simd` selects
 * the arch's SIMD flags (the C itself says whether it uses SIMDe); `threads` builds a
 * threaded flavour's host (pthreads, `--threads N`).
 */
export async function buildLinuxHost(arch: LinuxArch, wasm: Uint8Array, what = `wasm2c-${arch.name}`, simd = false, threads = false): Promise<{ dir: string; built: boolean }> {
  const c = await wasm2cSources(wasm, threads);
  const hosts = hostFiles('common', 'linux');
  const flags = archFlags(arch, simd, threads);
  const runtimeC = readFileSync(join(c.dir, 'runtime.c'));
  const usesSimde = runtimeC.includes('simde/wasm/simd128.h');
  if (usesSimde && simdeMissing()) throw new EdgeqError(`${what}: ${simdeMissing()}`);
  const simdeInc = usesSimde ? [`-I${await simdeInclude()}`, '-include', join(c.dir, SIMDE_OVERRIDES)] : [];
  const simdeId = usesSimde ? [readFileSync(join(SIMDE_DIR, 'wasm/simd128.h')), readFileSync(join(c.dir, SIMDE_OVERRIDES))] : [];
  const key = sha256('linux-host', arch.cc, flags.join(' '), runtimeC, ...simdeId, ...hosts.flatMap((f) => [f.path, f.bytes]));
  return cachedBuild(key, (tmp) => {
    tool(arch.cc, [...flags, `-I${c.dir}`, `-I${join(HOSTS_DIR, 'common')}`, `-I${join(HOSTS_DIR, 'linux')}`, ...simdeInc,
      join(c.dir, 'runtime.c'), join(c.dir, 'wasm-rt-impl.c'), join(HOSTS_DIR, 'common/host_core.c'), join(HOSTS_DIR, 'common/sha256.c'), join(HOSTS_DIR, 'linux/main.c'),
      ...(threads ? [join(HOSTS_DIR, 'linux/threads.c')] : []), '-o', join(tmp, 'edgeq-host'), '-lm'], { what: `${what} build`, timeoutMs: 600_000 });
  });
}

/** Which runtime build a wasm2c engine runs: scalar, SIMD, or the threaded flavour of the bundle's own. */
export type Wasm2cBuild = 'scalar' | 'simd' | 'threads';

/** The runtime build and host executable of `build` for `bundle` (built or from the cache). */
export async function wasm2cHost(arch: LinuxArch, bundle: Pick<Bundle, 'runtimeWasm' | 'contents'>, build: Wasm2cBuild, what: string, onBuild?: () => void): Promise<{ rt: RuntimeBuild; exe: string }> {
  const threads = build === 'threads';
  const simd = threads ? isSimdRuntime(bundle.runtimeWasm) : build === 'simd';
  const rt = await runtimeFlavour(bundle, simd, threads ? 'wasm2c' : false, onBuild);
  const host = await buildLinuxHost(arch, rt.wasm, what, simd, threads);
  return { rt, exe: join(host.dir, 'edgeq-host') };
}

/** The command line that runs a host executable for `arch`: natively or under its emulator. */
export function hostCommand(arch: LinuxArch, exe: string, args: string[]): [string, string[]] {
  return arch.emulator ? [arch.emulator, [exe, ...args]] : [exe, args];
}

/**
 * wasm2c-<arch> runs the scalar runtime build, wasm2c-<arch>-simd the SIMD build,
 * wasm2c-<arch>-threads the threaded flavour of the bundle's build on VERIFY_THREADS threads.
 */
export function wasm2cEngine(arch: LinuxArch, build: Wasm2cBuild = 'scalar'): Engine {
  const tools: Array<[string, string]> = [[arch.cc, arch.ccPackage]];
  if (arch.emulator) tools.push([arch.emulator, 'qemu-user']);
  const simdNote = build === 'threads' ? `SIMD through SIMDe${arch.simdFlags ? `, with ${arch.simdFlags.join(' ')},` : ''} when the bundle's build has it` : build === 'simd' ? 'SIMD runtime through SIMDe' : 'scalar runtime';
  return {
    name: `wasm2c-${arch.name}${build === 'scalar' ? '' : `-${build}`}`,
    about: `wasm2c (npm wabt) → ${arch.cc} ${archFlags(arch, build === 'simd', build === 'threads').join(' ')}${arch.emulator ? `, run under ${arch.emulator}` : ', run natively'}; ${build === 'threads' ? `the threaded flavour of the bundle's build on ${VERIFY_THREADS} pthreads (${simdNote})` : simdNote}`,
    available: () => wabtMissing() ?? (build === 'simd' ? simdeMissing() : null) ?? missingTools(tools),
    async run(bundle: Bundle, opts: EngineRunOptions = {}): Promise<EngineRun> {
      const t0 = performance.now();
      const { rt, exe } = await wasm2cHost(arch, bundle, build, this.name);
      const t1 = performance.now();
      const timeoutMs = opts.timeoutMs ?? 300_000;
      const [cmd, args] = hostCommand(arch, exe, [bundle.artifactPath, 'selftest', ...(build === 'threads' ? ['--threads', String(VERIFY_THREADS)] : [])]);
      const r = await runStreaming(cmd, args, { timeoutMs });
      if (r.timedOut) throw new EdgeqError(`${this.name}: did not finish within ${timeoutMs / 1000} s`);
      const mm = /^selftest mismatches (\d+)$/m.exec(r.stdout);
      if (!mm || (r.status !== 0 && r.status !== 1)) {
        throw new EdgeqError(`${this.name}: host exited ${r.status ?? r.signal}: ${`${r.stderr}${r.stdout}`.trim().split('\n').slice(-3).join(' | ')}`);
      }
      return {
        hashes: parseSelftestLines(r.stdout), mismatches: Number(mm[1]),
        runtime: { simd: rt.simd, sha256: rt.sha256, origin: rt.origin },
        buildMs: t1 - t0, runMs: r.ms,
      };
    },
  };
}
