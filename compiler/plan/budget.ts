// What a byte budget covers, and the exact bytes of a plan against it (`edgeq plan
// --budget-bytes / --target`, checked again by `edgeq compile` and `edgeq flash`).
//
// The budget covers what goes onto the device:
//   - a board target (host "baremetal", e.g. cortex-m): the firmware image's flash, text +
//     data as `edgeq flash` measures it (binutils size): the artifact linked into flash
//     plus the runtime translated by wasm2c and the bare-metal host;
//   - any other target: model.edgeq + runtime.wasm (the two files `edgeq compile` writes
//     for the device; manifest.json is metadata).
// Exact, not estimated: model.edgeq from the skeleton artifact (compiler/plan/size.ts);
// runtime.wasm by generating and compiling the runtime for the plan's program (in a child
// process, as a fresh `edgeq compile` does; runtime-size-child.ts); the firmware image by
// building it (buildFirmware, cached by content) around the skeleton artifact, whose length
// is the real artifact's. Builds are memoized by their input, and during the greedy search
// by the runtime's op-kind set (the runtime differs between plans of one kind set only by
// the op count constant); the final plan is always measured exactly.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { ModelConfig } from '../import/graph.ts';
import { cachedRuntime, generateRuntimeSource } from '../codegen/runtime.ts';
import { runtimeTarget, type TargetProfile } from '../target/profile.ts';
import { EdgeqError } from '../util/errors.ts';
import { skeletonArtifact, type ArtifactSizeContext } from './size.ts';
import type { PlanSpec } from './plan.ts';

export interface DeviceBytes {
  artifact: number;
  runtime: number;
  /** Board targets: the firmware image's flash (text + data); else undefined. */
  firmware?: number;
  /** What is compared with the budget. */
  total: number;
}

/** One line naming what a budget covers for a target. */
export const budgetCovers = (t: TargetProfile): string => (t.host === 'baremetal'
  ? `the firmware image's flash (text + data, as edgeq flash measures it: model.edgeq linked in + runtime via wasm2c + the ${t.host} host, --positions 64, no --selftest)`
  : 'model.edgeq + runtime.wasm');

const CHILD = fileURLToPath(new URL('./runtime-size-child.ts', import.meta.url));
/** Loads binaryen and AssemblyScript before tsx in the child: ~2 s instead of ~34 s (compiler/util/heavy.ts). */
const PRELOAD = fileURLToPath(new URL('../util/preload-heavy.mjs', import.meta.url));
const sha = (s: string | Uint8Array) => createHash('sha256').update(s).digest('hex');

/** Builds runtime.wasm in a fresh process (see runtime-size-child.ts). */
function buildRuntimeFresh(input: unknown): Uint8Array {
  const r = spawnSync(process.execPath, ['--no-turbo-fast-api-calls', '--import', PRELOAD, '--import', 'tsx', CHILD], {
    input: JSON.stringify(input), encoding: 'utf8', maxBuffer: 1 << 28, timeout: 600_000,
  });
  if (r.status !== 0) throw new EdgeqError(`sizing the runtime for the budget: the runtime build failed (${r.status ?? r.signal}): ${r.stderr.trim().split('\n').slice(-3).join(' ')}`);
  return new Uint8Array(Buffer.from(r.stdout, 'base64'));
}

/** Runtimes built for sizing, by the sha256 of their generated source (same source, same bytes). */
const RUNTIMES = new Map<string, Uint8Array>();

export class DeviceSizer {
  private runtimes = RUNTIMES;
  private byKinds = new Map<string, Uint8Array>();
  private firmwareCode = new Map<string, number>();
  readonly covers: string;
  /** Told before each step that takes seconds (a runtime or firmware build), for progress lines. */
  onProgress?: (message: string) => void;

  constructor(readonly config: ModelConfig, readonly target: TargetProfile, readonly ctx: Omit<ArtifactSizeContext, 'target'>) {
    this.covers = budgetCovers(target);
  }

  /** Bytes of `plan` on the device; `exact` false lets the runtime/firmware come from a plan of the same op kinds. */
  async measure(plan: PlanSpec, exact = true): Promise<DeviceBytes> {
    const skeleton = skeletonArtifact(this.config, plan, { ...this.ctx, target: this.target });
    // The flavour compile builds for this program (the target's, or scalar: runtimeTarget).
    const target = runtimeTarget(this.target, skeleton.program);
    const s = target.simd === this.target.simd ? skeleton : skeletonArtifact(this.config, plan, { ...this.ctx, target });
    const gen = generateRuntimeSource(s.contents.config, s.program, target);
    const kinds = gen.kinds.join(',');
    let wasm = exact ? undefined : this.byKinds.get(kinds);
    if (!wasm) {
      const key = sha(gen.source);
      wasm = this.runtimes.get(key);
      if (!wasm) {
        const program = { arenaSize: s.program.arenaSize, slots: s.program.slots, ops: s.program.ops, outputs: s.program.outputs };
        // A runtime built before (by compile, or an earlier plan) comes from the build cache;
        // only a new one costs a fresh process.
        wasm = cachedRuntime(gen, target) ?? undefined;
        if (!wasm) this.onProgress?.(`building a ${target.simd ? 'SIMD' : 'scalar'} runtime for op kinds ${kinds} to measure it (a few seconds)`);
        wasm ??= buildRuntimeFresh({ config: s.contents.config, program, target: { name: target.name, simd: target.simd } });
        this.runtimes.set(key, wasm);
      }
      if (!this.byKinds.has(kinds)) this.byKinds.set(kinds, wasm);
    }
    const runtime = wasm.length;
    const artifact = s.bytes.length;
    if (this.target.host !== 'baremetal') return { artifact, runtime, total: artifact + runtime };
    // Firmware: flash = the artifact + code; code measured on an image built around the skeleton.
    const fkey = exact ? `exact:${artifact}:${sha(wasm)}` : `kinds:${kinds}`;
    let code = this.firmwareCode.get(fkey);
    if (code === undefined) {
      const { buildFirmware, firmwareToolsMissing } = await import('../engines/firmware.ts');
      const { boardOfTarget } = await import('../engines/board.ts');
      const board = boardOfTarget(this.target);
      const why = firmwareToolsMissing(board, false);
      if (why) throw new EdgeqError(`cannot size the firmware image for target ${this.target.name} (its flash budget covers the image): ${why}`);
      this.onProgress?.(`building a firmware image for ${this.target.name} to measure its code (a few seconds)`);
      const fw = await buildFirmware(board, wasm, s.bytes, { selftest: false, steps: 64 });
      code = fw.size.flash - artifact;
      this.firmwareCode.set(fkey, code);
      if (!this.firmwareCode.has(`kinds:${kinds}`)) this.firmwareCode.set(`kinds:${kinds}`, code);
    }
    return { artifact, runtime, firmware: artifact + code, total: artifact + code };
  }
}

/** A one-line breakdown of DeviceBytes for messages. */
export function describeBytes(d: DeviceBytes): string {
  return d.firmware !== undefined
    ? `firmware image ${d.firmware} bytes (model.edgeq ${d.artifact} + code ${d.firmware - d.artifact}; runtime.wasm ${d.runtime})`
    : `model.edgeq ${d.artifact} + runtime.wasm ${d.runtime} = ${d.total} bytes`;
}

/**
 * `edgeq compile --plan <file>.json`: a plan written by `edgeq plan` with a budget records
 * it (bytes.budget); the bundle is refused, with the numbers, when model.edgeq +
 * runtime.wasm exceed it (e.g. the plan file was renamed, or compiled with other --vectors,
 * --tokenizer or --target than it was planned for). For a firmware budget this is the part
 * compile can check; `edgeq flash` checks the image against the target's flash.
 */
export function checkPlanBudget(plan: string, artifactBytes: number, runtimeBytes: number): void {
  if (!plan.endsWith('.json')) return;
  let budget: unknown, covers: unknown;
  try { ({ budget, covers } = (JSON.parse(readFileSync(plan, 'utf8')) as { bytes?: { budget?: unknown; covers?: unknown } }).bytes ?? {}); } catch { return; }
  if (typeof budget !== 'number') return;
  const used = artifactBytes + runtimeBytes;
  if (used > budget) {
    throw new EdgeqError(`plan file ${plan}: the bundle does not fit the plan's budget of ${budget} bytes (covers ${typeof covers === 'string' ? covers : 'model.edgeq'}): ` +
      `model.edgeq ${artifactBytes} + runtime.wasm ${runtimeBytes} = ${used} bytes, ${used - budget} over. Plan again with the compile's --target, --vectors and --tokenizer, under the plan file's name.`);
  }
}
