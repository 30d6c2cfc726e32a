// `edgeq run <bundle> --engine wasm2c`: the bundle's runtime translated by wasm2c and
// compiled into the Linux host (./wasm2c.ts), the way a Linux board runs it. The host runs
// the generation loop itself (targets/hosts/linux/main.c, mode `tokens`: the loop of
// compiler/generate.ts pieces(), with the runtime's integer sampler) and prints each token
// id as it is chosen; this side turns ids into text with the same tokenizer and
// printedBytes() as the V8 engine, so the text is the same bytes. With --threads N > 1 it
// is the threaded flavour on N pthreads (targets/hosts/linux/threads.c).
import { arch as x86_64 } from './wasm2c-x86_64.ts';
import { arch as aarch64 } from './wasm2c-aarch64.ts';
import { arch as riscv64 } from './wasm2c-riscv64.ts';
import { hostCommand, wasm2cHost, type LinuxArch } from './wasm2c.ts';
import { missingTools, runStreaming } from './proc.ts';
import { wabtMissing } from './wabt.ts';
import { samplerQ16 } from './int-engines.ts';
import { isSimdRuntime } from './runtime-flavour.ts';
import { loadTarget } from '../target/profile.ts';
import type { Bundle as OpenedBundle } from './bundle.ts';
import { EdgeqError } from '../util/errors.ts';

const ARCHES: LinuxArch[] = [x86_64, aarch64, riscv64];

/**
 * The Linux host a bundle runs on: its target's ISA for a Linux target (aarch64-linux,
 * riscv64-linux: under qemu-user on this machine), else this machine's own (x86-64 only:
 * the other archs are built with cross compilers and run under qemu).
 */
export function runArch(targetName: string): LinuxArch {
  const t = loadTarget(targetName);
  const own = t.host === 'linux' ? ARCHES.find((a) => a.name === t.isa) : undefined;
  if (own) return own;
  if (process.arch !== 'x64') throw new EdgeqError(`--engine wasm2c: a ${targetName} bundle runs on this machine's ISA, and only x86-64 has a native build here (this is ${process.arch}); compile for aarch64-linux or riscv64-linux to run under qemu-user`);
  return x86_64;
}

export interface NativeRunOptions {
  threads: number;
  /** BOS first, as compiler/generate.ts pieces() takes them. */
  promptTokens: number[];
  steps: number;
  temperature: number;
  topp: number;
  seed: number;
  /** Token ids that end the text (not printed). */
  stops: number[];
  /** Each generated (or forced prompt) token, in order; false stops reading. */
  onToken: (token: number) => boolean | void;
  /** Told when a runtime build or host is not in the cache yet. */
  say?: (msg: string) => void;
}

/** Runs the generation loop in the Linux host; resolves with the positions run and the arch it ran on. */
export async function nativeGenerate(bundle: OpenedBundle, o: NativeRunOptions): Promise<{ positions: number; arch: LinuxArch }> {
  const arch = runArch(bundle.artifact.target.name);
  const tools: Array<[string, string]> = [[arch.cc, arch.ccPackage], ...(arch.emulator ? [[arch.emulator, 'qemu-user'] as [string, string]] : [])];
  const missing = wabtMissing() ?? missingTools(tools);
  if (missing) throw new EdgeqError(`--engine wasm2c needs ${missing}`);
  const { temperatureQ, toppQ } = samplerQ16(o.temperature, o.topp);
  // One thread: the bundle's own build as it is; more: its threaded flavour.
  const build = o.threads > 1 ? 'threads' : isSimdRuntime(bundle.wasm) ? 'simd' : 'scalar';
  const what = `wasm2c-${arch.name}${o.threads > 1 ? '-threads' : ''}`;
  const { exe } = await wasm2cHost(arch, { runtimeWasm: bundle.wasm, contents: bundle.artifact }, build, what,
    () => o.say?.(`building the ${o.threads > 1 ? 'threaded ' : ''}runtime flavour for ${what} (cached for next time)`));
  const args = [bundle.artifactPath, 'tokens', String(o.steps), '--prompt', o.promptTokens.join(','), '--sample', String(temperatureQ), String(toppQ), String(o.seed),
    '--stop', o.stops.join(','), ...(o.threads > 1 ? ['--threads', String(o.threads)] : [])];
  const [cmd, cmdArgs] = hostCommand(arch, exe, args);
  let pending = '', positions = 0, reading = true;
  const r = await runStreaming(cmd, cmdArgs, {
    timeoutMs: 24 * 3600_000,
    onStdout: (chunk) => {
      pending += chunk.toString('latin1');
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const l of lines) {
        if (!reading) break;
        positions++;
        if (o.onToken(Number(l)) === false) reading = false;
      }
      return reading; // false ends the host (stdout closed: | head)
    },
  });
  if (!reading) return { positions, arch };
  if (r.status !== 0) throw new EdgeqError(`${what}: the host exited ${r.status ?? r.signal}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  // The host stops after a stop token (one more position, not printed) or after `steps`.
  return { positions: positions < o.steps ? positions + 1 : positions, arch };
}
