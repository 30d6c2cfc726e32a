// Conformance of the training runtime on every engine: the training entry
// (compiler/codegen/train-runtime.ts) with an embedded selftest — initial adapter, the
// tokens of a few steps, the expected state hash after each — run by the same plumbing as
// the inference conformance: V8, wasm-interp on the embedded build (./embed.ts), the
// wasm2c Linux hosts (x86-64 natively, AArch64 / RISC-V under qemu-user) and every
// board's bare-metal image on its emulator (./board.ts). The module exports the ABI the C hosts
// call (reserve, load, selftest, forward, argmax, decode, text), so the hosts are unchanged.
// Each engine prints `selftest <step> <hash>` per step, hash = FNV-1a 64 of the state
// block followed by the step's loss (trainSelftestHash); they are compared with the
// integer reference's (runtime/reference/train.ts).
import type { ArtifactContents } from '../emit/artifact-contents.ts';
import type { QuantModel } from '../quantize/quant-model.ts';
import { buildTrainRuntime, trainSelftestHash, type TrainSelftest } from '../codegen/train-runtime.ts';
import { intTrainerFromState, stateFromIntTrainer } from '../train/int-reference.ts';
import type { AdapterState } from '../train/trainer.ts';
import type { Bundle, EngineRun, PositionHash } from './engine.ts';
import { engine as wasmInterp } from './wasm-interp.ts';
import { engine as wasm2cX86 } from './wasm2c-x86_64.ts';
import { engine as wasm2cAarch64 } from './wasm2c-aarch64.ts';
import { engine as wasm2cRiscv64 } from './wasm2c-riscv64.ts';
import { bootSelftest, engineBoards } from './board.ts';
import { buildFirmware, firmwareToolsMissing } from './firmware.ts';
import { stateBlock } from './train-wasm.ts';
import { EdgeqError } from '../util/errors.ts';

const HOSTED = ['v8', 'wasm-interp', 'wasm2c-x86_64', 'wasm2c-aarch64', 'wasm2c-riscv64'] as const;
/** The hosted engines, then every board's (its conformanceEngine name). */
export const TRAIN_ENGINES: readonly string[] = [...HOSTED, ...engineBoards().map((b) => b.profile.conformanceEngine!)];
export type TrainEngineName = string;

/** The selftest of `steps` training steps from `s`, with the integer reference's hashes (and losses). */
export function referenceTrainSelftest(a: ArtifactContents, m: QuantModel, s: AdapterState, steps: Int32Array[]): TrainSelftest & { losses: number[] } {
  const tr = intTrainerFromState(m, s);
  const expected: bigint[] = [], losses: number[] = [];
  steps.forEach((t, i) => {
    const loss = tr.stepQ16(t);
    losses.push(loss);
    expected.push(trainSelftestHash(stateBlock(a, stateFromIntTrainer(tr, s, i + 1)), loss));
  });
  return { rPad: s.rPad, seqLen: s.seqLen, lrM: s.lrM, lrE: s.lrE, state: stateBlock(a, s), steps, expected, losses };
}

/** The scalar training module with `st` embedded (cached by content). */
export async function trainSelftestWasm(a: ArtifactContents, st: TrainSelftest, simd = false): Promise<Uint8Array> {
  return (await buildTrainRuntime(a, { name: a.target.name, simd }, { selftest: st })).wasm;
}

/** V8: the module's selftest() through the JS API (host.print collected). */
async function runV8(wasm: Uint8Array, artifact: Uint8Array): Promise<{ hashes: PositionHash[]; mismatches: number; memoryBytes: number }> {
  const hashes: PositionHash[] = [];
  const { instance } = await WebAssembly.instantiate(new Uint8Array(wasm), { host: { print: (p: number, h: bigint) => { hashes.push({ position: p, hash: BigInt.asUintN(64, h) }); } } });
  const ex = instance.exports as unknown as { memory: WebAssembly.Memory; reserve(n: number): number; load(n: number): number; selftest(): number };
  const ptr = ex.reserve(artifact.length);
  if (ptr === 0) throw new EdgeqError('v8: the training runtime could not reserve memory for the artifact');
  new Uint8Array(ex.memory.buffer, ptr, artifact.length).set(artifact);
  const code = ex.load(artifact.length);
  if (code !== 0) throw new EdgeqError(`v8: the training runtime rejected the artifact (code ${code})`);
  const mismatches = ex.selftest();
  return { hashes, mismatches, memoryBytes: ex.memory.buffer.byteLength };
}

export interface TrainEngineRun { hashes: PositionHash[]; mismatches: number; buildMs: number; runMs: number; about: string }

/**
 * Runs the training selftest module `wasm` (scalar, or SIMD for v8/wasm-interp) on one
 * engine. `bundle` supplies the artifact (its bytes, and its path for the Linux hosts).
 */
export async function runTrainEngine(name: TrainEngineName, bundle: Bundle, wasm: Uint8Array, opts: { timeoutMs?: number } = {}): Promise<TrainEngineRun> {
  const t0 = performance.now();
  if (name === 'v8') {
    const r = await runV8(wasm, bundle.artifact);
    return { hashes: r.hashes, mismatches: r.mismatches, buildMs: 0, runMs: performance.now() - t0, about: 'V8 (Node), the module through the JS API' };
  }
  const board = engineBoards().find((b) => b.profile.conformanceEngine === name);
  if (board) {
    const why = firmwareToolsMissing(board, true);
    if (why) throw new EdgeqError(`${name}: ${why}`);
    // The image's wasm memory: what the selftest really uses (train_init allocates), in V8.
    const { memoryBytes } = await runV8(wasm, bundle.artifact);
    const fw = await buildFirmware(board, wasm, bundle.artifact, { selftest: true, steps: 0, heapBytes: memoryBytes });
    const t1 = performance.now();
    const r = await bootSelftest(board, fw, opts.timeoutMs ?? 600_000);
    return { hashes: r.hashes, mismatches: r.mismatches, buildMs: t1 - t0, runMs: r.ms, about: `bare-metal ${board.profile.cpu} on ${board.target.emulator} (board ${board.name}), ${fw.heapBytes} bytes of wasm memory` };
  }
  const engine = ({ 'wasm-interp': wasmInterp, 'wasm2c-x86_64': wasm2cX86, 'wasm2c-aarch64': wasm2cAarch64, 'wasm2c-riscv64': wasm2cRiscv64 } as Record<string, typeof wasmInterp>)[name];
  if (!engine) throw new EdgeqError(`unknown training engine "${name}"; known: ${TRAIN_ENGINES.join(', ')}`);
  const why = engine.available();
  if (why) throw new EdgeqError(`${name}: ${why}`);
  // The engines run `bundle.runtimeWasm` (the flavour they need; a scalar module serves all).
  const r: EngineRun = await engine.run({ ...bundle, runtimeWasm: wasm }, { timeoutMs: opts.timeoutMs });
  return { hashes: r.hashes, mismatches: r.mismatches, buildMs: r.buildMs, runMs: r.runMs, about: engine.about };
}
