// Boards: every target profile with a "board" (targets/<target>.json) is a board `edgeq
// flash` builds for, and — unless its conformanceEngine is null — a conformance engine of
// `edgeq verify` and a training engine of `verify --train`. Nothing here lists boards:
// adding one is adding a profile (plus a startup file for a new CPU family).
import type { Engine, EngineRun, EngineRunOptions, Bundle } from './engine.ts';
import { parseSelftestLines } from './engine.ts';
import { bootFirmware, buildFirmware, firmwareToolsMissing, type Firmware } from './firmware.ts';
import { runtimeFlavour } from './runtime-flavour.ts';
import { loadTarget, targetNames, type Board, type TargetProfile, type BoardProfile } from '../target/profile.ts';
import { EdgeqError, usageError } from '../util/errors.ts';

export type { Board };

let cached: Board[] | undefined;

/** Every board, in target-name order. */
export function boards(): Board[] {
  cached ??= targetNames().map((n) => loadTarget(n)).filter((t) => t.board)
    .map((t) => ({ name: t.board!.name, target: t, profile: t.board! }));
  return cached;
}

export function findBoard(name: string): Board {
  const b = boards().find((x) => x.name === name);
  if (!b) throw usageError(`--board: unknown board "${name}"; known boards: ${boards().map((x) => x.name).join(', ')}`);
  return b;
}

/** The board of a bare-metal target (its flash budget covers that board's image). */
export function boardOfTarget(t: TargetProfile): Board {
  const b = boards().find((x) => x.target.name === t.name);
  if (!b) throw new EdgeqError(`target ${t.name} has no board`);
  return b;
}

// Whole MiB as MiB, else whole KiB (520 KiB, not a rounded 0.5 MiB), else bytes.
const memSize = (n: number) => n % 1048576 === 0 ? `${n / 1048576} MiB` : n % 1024 === 0 ? `${n / 1024} KiB` : `${n} bytes`;

/** One line per board for `edgeq flash --list-boards`. */
export function describeBoards(): string[] {
  return boards().map((b) => `${b.name.padEnd(14)} target ${b.target.name.padEnd(12)} ${b.profile.cpu}; flash ${memSize(b.target.flashBytes!)} at ${b.profile.flashOrigin}, RAM ${memSize(b.target.ramBytes!)} at ${b.profile.ramOrigin}; ` +
    `${b.target.emulator} ${b.profile.emulatorArgs.slice(0, b.profile.emulatorArgs.indexOf('-nographic') >>> 0).join(' ')}; engine ${b.profile.conformanceEngine ?? '(none: same CPU as another board)'}`);
}

/** Runs an image built with EQ_SELFTEST on the board; the selftest lines and mismatch count. */
export async function bootSelftest(b: Board, fw: Firmware, timeoutMs: number): Promise<{ hashes: ReturnType<typeof parseSelftestLines>; mismatches: number; ms: number }> {
  const who = b.profile.conformanceEngine ?? b.name;
  const r = await bootFirmware(b, fw.elf, timeoutMs);
  if (r.timedOut) throw new EdgeqError(`${who}: the board did not exit within ${timeoutMs / 1000} s`);
  const mm = /^selftest mismatches (\d+)$/m.exec(r.stdout);
  if (!mm || (r.status !== 0 && r.status !== 1)) {
    throw new EdgeqError(`${who}: the board exited ${r.status ?? r.signal}: ${`${r.stdout}${r.stderr}`.trim().split('\n').slice(-3).join(' | ')}`);
  }
  return { hashes: parseSelftestLines(r.stdout), mismatches: Number(mm[1]), ms: r.ms };
}

/**
 * The conformance engine of a board: the bare-metal firmware built with EQ_SELFTEST and
 * no generation, booted on the emulated board. It prints the same "selftest <pos> <hash>"
 * lines as every C host through semihosting and exits with the host's status (0 ok,
 * 1 mismatch, 4 artifact rejected, 70 wasm trap, 99 fault).
 */
export function boardEngine(b: Board): Engine {
  return {
    name: b.profile.conformanceEngine!,
    about: `bare-metal ${b.profile.cpu} image (wasm2c → ${b.target.cc} ${b.profile.cflags.join(' ')}) on ${b.target.emulator} ${b.profile.emulatorArgs.slice(0, 2).join(' ')} (board ${b.name})`,
    available: () => firmwareToolsMissing(b, true),
    async run(bundle: Bundle, opts: EngineRunOptions = {}): Promise<EngineRun> {
      const t0 = performance.now();
      const rt = await runtimeFlavour(bundle, false);
      const fw = await buildFirmware(b, rt.wasm, bundle.artifact, { selftest: true, steps: 0 });
      const t1 = performance.now();
      const r = await bootSelftest(b, fw, opts.timeoutMs ?? 600_000);
      return { hashes: r.hashes, mismatches: r.mismatches, runtime: { simd: false, sha256: rt.sha256, origin: rt.origin }, buildMs: t1 - t0, runMs: r.ms };
    },
  };
}

/** Boards with a conformance engine, in order. */
export const engineBoards = (): Board[] => boards().filter((b) => b.profile.conformanceEngine !== null);

export function boardEngines(): Engine[] { return engineBoards().map(boardEngine); }

/** True for an engine name that is a board's (they run the scalar runtime through wasm2c). */
export const isBoardEngine = (name: string): boolean => engineBoards().some((b) => b.profile.conformanceEngine === name);
