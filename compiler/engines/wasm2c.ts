// wasm2c engines: the scalar runtime translated to C by WABT's wasm2c, compiled with the
// Linux host (targets/hosts/linux + common) natively or with a cross gcc, and run natively
// or under qemu-user. Also the translation step the bare-metal firmware reuses.
//
// Every step is cached by the SHA-256 of its inputs (./cache.ts): the C translation by the
// wasm bytes and wasm2c's version; an executable by the C, the host sources, the compiler
// and its flags. The artifact is read at run time, so one executable serves every
// artifact a runtime build accepts.
import { copyFileSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { cachedBuild, sha256 } from './cache.ts';
import { parseSelftestLines, type Bundle, type Engine, type EngineRun, type EngineRunOptions } from './engine.ts';
import { missingTools, runStreaming, tool } from './proc.ts';
import { runtimeFlavour } from './runtime-flavour.ts';
import { EdgeqError } from '../util/errors.ts';

export const HOSTS_DIR = resolve(import.meta.dirname, '../../targets/hosts');
/** wasm2c's runtime support shipped by Debian's wabt package. */
export const WASM_RT_HEADER = '/usr/include/wasm-rt.h';
export const WASM_RT_IMPL_DIR = '/usr/share/wabt/wasm2c';

let wasm2cVersion: string | undefined;
function wasm2cId(): string {
  wasm2cVersion ??= tool('wasm2c', ['--version']).stdout.trim();
  return wasm2cVersion;
}

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
 * runtime.c / runtime.h for a (scalar) runtime, plus copies of wasm-rt.h, wasm-rt-impl.{c,h}
 * so that cross compilers never see the build machine's /usr/include.
 */
export async function wasm2cSources(wasm: Uint8Array): Promise<{ dir: string; built: boolean }> {
  const key = sha256('wasm2c', wasm2cId(), wasm, readFileSync(WASM_RT_HEADER));
  return cachedBuild(key, (tmp) => {
    const input = join(tmp, 'runtime.wasm');
    copyFileSync(WASM_RT_HEADER, join(tmp, 'wasm-rt.h'));
    copyFileSync(join(WASM_RT_IMPL_DIR, 'wasm-rt-impl.c'), join(tmp, 'wasm-rt-impl.c'));
    copyFileSync(join(WASM_RT_IMPL_DIR, 'wasm-rt-impl.h'), join(tmp, 'wasm-rt-impl.h'));
    writeFileSync(input, wasm);
    tool('wasm2c', [input, '-n', 'runtime', '-o', join(tmp, 'runtime.c')], { what: 'wasm2c', timeoutMs: 120_000 });
  });
}

export interface LinuxArch {
  name: string;
  /** gcc driver and the Debian package holding it. */
  cc: string;
  ccPackage: string;
  /** qemu-user binary when the ISA is not this machine's, and its package. */
  emulator?: string;
  flags: string[];
}

/** C flags every wasm2c build uses: wasm's float rules even where no float should exist. */
export const C_FLAGS = ['-O2', '-ffp-contract=off', '-fno-strict-aliasing'];

/**
 * The Linux host (targets/hosts/linux + common) around a scalar runtime, built with
 * `arch.cc` and cached by content; the executable is `<dir>/edgeq-host`.
 */
export async function buildLinuxHost(arch: LinuxArch, wasm: Uint8Array, what = `wasm2c-${arch.name}`): Promise<{ dir: string; built: boolean }> {
  const c = await wasm2cSources(wasm);
  const hosts = hostFiles('common', 'linux');
  const flags = [...C_FLAGS, ...arch.flags];
  const key = sha256('linux-host', arch.cc, flags.join(' '), readFileSync(join(c.dir, 'runtime.c')), ...hosts.flatMap((f) => [f.path, f.bytes]));
  return cachedBuild(key, (tmp) => {
    tool(arch.cc, [...flags, `-I${c.dir}`, `-I${join(HOSTS_DIR, 'common')}`,
      join(c.dir, 'runtime.c'), join(c.dir, 'wasm-rt-impl.c'), join(HOSTS_DIR, 'common/host_core.c'), join(HOSTS_DIR, 'common/sha256.c'), join(HOSTS_DIR, 'linux/main.c'),
      '-o', join(tmp, 'edgeq-host'), '-lm'], { what: `${what} build`, timeoutMs: 600_000 });
  });
}

export function wasm2cEngine(arch: LinuxArch): Engine {
  const tools: Array<[string, string]> = [['wasm2c', 'wabt'], [arch.cc, arch.ccPackage]];
  if (arch.emulator) tools.push([arch.emulator, 'qemu-user']);
  return {
    name: `wasm2c-${arch.name}`,
    about: `wasm2c → ${arch.cc} ${[...C_FLAGS, ...arch.flags].join(' ')}${arch.emulator ? `, run under ${arch.emulator}` : ', run natively'}; scalar runtime`,
    available: () => missingTools(tools),
    async run(bundle: Bundle, opts: EngineRunOptions = {}): Promise<EngineRun> {
      const t0 = performance.now();
      const rt = await runtimeFlavour(bundle, false);
      const exe = await buildLinuxHost(arch, rt.wasm, this.name);
      const t1 = performance.now();
      const timeoutMs = opts.timeoutMs ?? 300_000;
      const bin = join(exe.dir, 'edgeq-host');
      const [cmd, args] = arch.emulator ? [arch.emulator, [bin]] : [bin, []];
      const r = await runStreaming(cmd, [...args, bundle.artifactPath, 'selftest'], { timeoutMs });
      if (r.timedOut) throw new EdgeqError(`${this.name}: did not finish within ${timeoutMs / 1000} s`);
      const mm = /^selftest mismatches (\d+)$/m.exec(r.stdout);
      if (!mm || (r.status !== 0 && r.status !== 1)) {
        throw new EdgeqError(`${this.name}: host exited ${r.status ?? r.signal}: ${`${r.stderr}${r.stdout}`.trim().split('\n').slice(-3).join(' | ')}`);
      }
      return {
        hashes: parseSelftestLines(r.stdout), mismatches: Number(mm[1]),
        runtime: { simd: false, sha256: rt.sha256, origin: rt.origin },
        buildMs: t1 - t0, runMs: r.ms,
      };
    },
  };
}
