// Target profiles: data in targets/<name>.json (ISA, SIMD, RAM/flash budgets, the engine
// used on the device, the host template). The compiler reads them here and nowhere else.
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { usageError, EdgeqError } from '../util/errors.ts';

export const TARGETS_DIR = resolve(import.meta.dirname, '../../targets');

export interface TargetProfile {
  name: string;
  description: string;
  isa: string;
  /** Whether the device's engine runs WebAssembly SIMD (selects the SIMD kernels). */
  simd: boolean;
  /**
   * Op kinds whose SIMD kernels run slower on this device than the scalar ones (RISC-V:
   * SIMDe's portable C makes a swizzle a 16-step loop): a program with any of them gets
   * the scalar runtime (runtimeTarget). Each must be an op kind of the registry
   * (test/target-profile.test.ts).
   */
  simdSlowerFor?: string[];
  /** wasm engine on the device: v8 | wasm2c | wasm2c-baremetal. */
  engine: string;
  /** RAM and flash budgets in bytes; null: no budget (a host with plenty). */
  ramBytes: number | null;
  flashBytes: number | null;
  /** Host template: node | linux | baremetal (targets/hosts/<host>). */
  host: string;
  /** Cross compiler, emulator and board where the target has them. */
  cc?: string;
  emulator?: string;
  /** A bare-metal target's board: everything `edgeq flash` and its engine derive from. */
  board?: BoardProfile;
}

/**
 * A board (targets/<target>.json, field "board"): the one place a board is described. Its
 * RAM and flash sizes are the target's ramBytes/flashBytes; the linker script, the
 * conformance engine, the training engine and `edgeq flash --list-boards` derive from it
 * (compiler/engines/board.ts).
 */
/** A board: a target profile with a board section, under the board's name (compiler/engines/board.ts lists them). */
export interface Board { name: string; target: TargetProfile; profile: BoardProfile }

export interface BoardProfile {
  name: string;
  about: string;
  /** Name of its conformance engine in `edgeq verify`, or null: none (same CPU as another board). */
  conformanceEngine: string | null;
  cpu: string;
  /** Compiler flags selecting the CPU and ABI (no float unit used). */
  cflags: string[];
  /** Flags selecting the C library (memcpy/memset only). */
  libc: string[];
  /** Startup file in targets/hosts/baremetal (vectors or entry, semihosting call). */
  startup: string;
  /** Start addresses of flash (image, artifact, read-only data) and RAM, hex strings. */
  flashOrigin: string;
  ramOrigin: string;
  /** Emulator arguments, "{elf}" standing for the image; the emulator is the target's. */
  emulatorArgs: string[];
  /** Debian packages holding the tools, for messages. */
  packages: { cc: string; size: string; emulator: string };
}

function checkBoard(b: BoardProfile, t: TargetProfile, file: string): void {
  const bad = (k: string, what: string) => new EdgeqError(`field "board.${k}" must be ${what}`, { file });
  if (typeof b !== 'object' || b === null) throw new EdgeqError('field "board" must be an object', { file });
  for (const k of ['name', 'about', 'cpu', 'startup'] as const) if (typeof b[k] !== 'string' || !b[k]) throw bad(k, 'a non-empty string');
  if (b.conformanceEngine !== null && typeof b.conformanceEngine !== 'string') throw bad('conformanceEngine', 'a string or null');
  for (const k of ['cflags', 'libc', 'emulatorArgs'] as const) if (!Array.isArray(b[k]) || !b[k].every((x) => typeof x === 'string')) throw bad(k, 'an array of strings');
  for (const k of ['flashOrigin', 'ramOrigin'] as const) if (typeof b[k] !== 'string' || !/^0x[0-9a-fA-F]{1,8}$/.test(b[k])) throw bad(k, 'a hex address like "0x20000000"');
  if (!b.emulatorArgs.includes('{elf}')) throw bad('emulatorArgs', 'a list containing "{elf}"');
  if (typeof b.packages !== 'object' || b.packages === null || !['cc', 'size', 'emulator'].every((k) => typeof (b.packages as unknown as Record<string, unknown>)[k] === 'string')) throw bad('packages', 'an object with cc, size and emulator');
  if (t.host !== 'baremetal' || !t.cc || !t.emulator || !t.ramBytes || !t.flashBytes) throw new EdgeqError('a target with a board must have host "baremetal", cc, emulator, ramBytes and flashBytes', { file });
}

export function targetNames(): string[] {
  return readdirSync(TARGETS_DIR).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
}

export function loadTarget(name: string): TargetProfile {
  const names = targetNames();
  if (!names.includes(name)) throw usageError(`unknown target "${name}"; known targets: ${names.join(', ')}`);
  const file = join(TARGETS_DIR, `${name}.json`);
  let t: TargetProfile;
  try {
    t = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new EdgeqError(`not valid JSON: ${(e as Error).message}`, { file });
  }
  for (const [k, type] of [['name', 'string'], ['isa', 'string'], ['simd', 'boolean'], ['engine', 'string'], ['host', 'string']] as const) {
    if (typeof t[k] !== type) throw new EdgeqError(`field "${k}" must be a ${type}`, { file });
  }
  for (const k of ['ramBytes', 'flashBytes'] as const) {
    if (t[k] !== null && !(Number.isInteger(t[k]) && (t[k] as number) > 0)) throw new EdgeqError(`field "${k}" must be a positive integer or null`, { file });
  }
  if (t.simdSlowerFor !== undefined && !(Array.isArray(t.simdSlowerFor) && t.simdSlowerFor.every((k) => typeof k === 'string'))) {
    throw new EdgeqError('field "simdSlowerFor" must be a list of op kinds', { file });
  }
  if (t.name !== name) throw new EdgeqError(`field "name" is "${t.name}" but the file is ${name}.json`, { file });
  if (t.board !== undefined) checkBoard(t.board, t, file);
  return t;
}

/**
 * The target a program's runtime is built for: the profile, or the profile with `simd` off
 * when the program has an op its SIMD kernels run slower (simdSlowerFor); `why` says so.
 */
export function runtimeTarget<T extends Pick<TargetProfile, 'simd' | 'simdSlowerFor'>>(target: T, program: { ops: ReadonlyArray<{ kind: string }> }): T & { why?: string } {
  if (!target.simd || !target.simdSlowerFor?.length) return target;
  const slow = target.simdSlowerFor.filter((k) => program.ops.some((op) => op.kind === k));
  return slow.length ? { ...target, simd: false, why: `the scalar runtime: this target's SIMD build runs ${slow.join(', ')} slower` } : target;
}
