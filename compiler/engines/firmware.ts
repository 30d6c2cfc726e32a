// Bare-metal firmware for a board (compiler/engines/board.ts, from targets/<target>.json):
// the scalar runtime through wasm2c, the bare-metal host (targets/hosts/baremetal +
// common: main, semihosting, the board's startup file) and the artifact linked into flash,
// built with the target's cross gcc and a linker script generated from the profile. Used
// by the boards' conformance engines (EQ_SELFTEST) and by `edgeq flash`.
//
// The wasm linear memory is one static array (EQ_WASM_HEAP_BYTES). Its size is what the
// runtime really uses, measured by running the same scalar runtime in V8 up to the first
// forward step (memory only grows in reserve/load; docs/runtime-abi.md), so the image's RAM
// use is honest and can be checked against the board's budget.
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cachedBuild, fileSha256, sha256 } from './cache.ts';
import { C_FLAGS, HOSTS_DIR, hostFiles, wasm2cSources } from './wasm2c.ts';
import { missingTools, runStreaming, tool } from './proc.ts';
import { linkerScript } from './linker-script.ts';
import type { Board } from '../target/profile.ts';
import { wabtMissing } from './wabt.ts';
import { EdgeqError } from '../util/errors.ts';

/** Flags of every board image after the board's own CPU flags. */
export const BAREMETAL_FLAGS = [...C_FLAGS, '-nostartfiles', '-DWASM_RT_MEMCHECK_SIGNAL_HANDLER=0', '-ffunction-sections', '-fdata-sections', '-Wl,--gc-sections'];
/** C stack kept free at the top of RAM (the linker script puts the stack there). */
export const STACK_BYTES = 64 * 1024;
const PAGE = 65536;

/** binutils' size next to the board's gcc (arm-none-eabi-gcc → arm-none-eabi-size). */
const sizeTool = (b: Board) => b.target.cc!.replace(/gcc$/, 'size');

export function firmwareToolsMissing(b: Board, withEmulator: boolean): string | null {
  const p = b.profile.packages;
  const t: Array<[string, string]> = [[b.target.cc!, p.cc], [sizeTool(b), p.size]];
  if (withEmulator) t.push([b.target.emulator!, p.emulator]);
  return wabtMissing() ?? missingTools(t);
}

/** The board's startup file and the host files every board shares. */
const BOARD_SOURCES = ['wasm_rt_baremetal.c', 'main.c', 'semihost.c', 'artifact.S'];

/** Bytes of wasm linear memory the runtime uses once the artifact is loaded and one step ran. */
export async function measureWasmMemory(runtimeWasm: Uint8Array, artifact: Uint8Array): Promise<number> {
  const inst = await WebAssembly.instantiate(new Uint8Array(runtimeWasm), { host: { print: () => {} } });
  const ex = inst.instance.exports as unknown as {
    memory: WebAssembly.Memory; reserve(n: number): number; load(n: number): number; forward(t: number, p: number): number;
  };
  const ptr = ex.reserve(artifact.length);
  if (ptr === 0) throw new EdgeqError('the runtime could not reserve memory for the artifact');
  new Uint8Array(ex.memory.buffer, ptr, artifact.length).set(artifact);
  const code = ex.load(artifact.length);
  if (code !== 0) throw new EdgeqError(`the runtime's verifier rejected the artifact (code ${code})`);
  ex.forward(1, 0);
  return ex.memory.buffer.byteLength;
}

export interface FirmwareSize { text: number; data: number; bss: number; flash: number; ram: number }

export interface Firmware {
  elf: string;
  dir: string;
  built: boolean;
  size: FirmwareSize;
  /** RAM behind the runtime's linear memory: the linear memory less the artifact. */
  heapBytes: number;
  /** The runtime's linear memory (virtual: the artifact's part of it is flash). */
  wasmBytes: number;
  /** The artifact, read in place: its size and its flash address (from the symbol table). */
  weights: { bytes: number; address: number };
  /** Every input and output, for manifests: path (project-relative or role) and sha256. */
  parts: Array<{ role: string; path: string; sha256: string; bytes: number }>;
  flags: string[];
}

export interface FirmwareOptions {
  /** Runs the embedded conformance vectors first (EQ_SELFTEST). */
  selftest: boolean;
  /** Greedy positions generated after boot (EQ_STEPS). */
  steps: number;
  /**
   * The artifact's expected SHA-256 (64 hex digits), embedded in the image: the host hashes
   * the artifact in flash and refuses to run it on a mismatch (exit 6). `edgeq flash` passes
   * the bundle manifest's hash; default: the hash of `artifact` itself.
   */
  artifactSha256?: string;
  /**
   * Bytes of wasm linear memory to give the image, when the default measurement (load and
   * one forward step in V8) is not what the module needs: the training runtime allocates its
   * buffers in train_init (compiler/engines/train-conformance.ts measures its selftest).
   */
  heapBytes?: number;
}

/** A C initializer `{0x..,...}` for 32 digest bytes, for -DEQ_ARTIFACT_SHA256. */
export function digestInitializer(hex: string): string {
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new EdgeqError(`expected a sha256 of 64 lowercase hex digits, got "${hex}"`);
  return `{${hex.match(/../g)!.map((b) => `0x${b}`).join(',')}}`;
}

export async function buildFirmware(board: Board, runtimeWasm: Uint8Array, artifact: Uint8Array, opts: FirmwareOptions): Promise<Firmware> {
  const why = firmwareToolsMissing(board, false);
  if (why) throw new EdgeqError(`cannot build firmware for ${board.name}: ${why}`);
  // The runtime's linear memory less the artifact: the weights stay in flash (xip.h).
  const wasmBytes = Math.ceil((opts.heapBytes ?? await measureWasmMemory(runtimeWasm, artifact)) / PAGE) * PAGE;
  const heapBytes = Math.max(PAGE, Math.ceil((wasmBytes - artifact.length) / 16) * 16);
  const c = await wasm2cSources(runtimeWasm);
  const p = board.profile;
  // Other boards' startup files are not part of this image.
  const hosts = hostFiles('common', 'baremetal', 'wasm-rt').filter((f) => !/\/startup-[^/]*$/.test(f.path) || f.path.endsWith(`/${p.startup}`));
  const expectSha = opts.artifactSha256 ?? fileSha256(artifact);
  const flags = [...p.cflags, ...BAREMETAL_FLAGS, ...p.libc, `-DEQ_ARTIFACT_SHA256=${digestInitializer(expectSha)}`, `-DEQ_WASM_HEAP_BYTES=${heapBytes}`, `-DEQ_STEPS=${opts.steps}`, '-include', 'xip.h', ...(opts.selftest ? ['-DEQ_SELFTEST'] : [])];
  const runtimeC = readFileSync(join(c.dir, 'runtime.c'));
  const ld = linkerScript(board.target, STACK_BYTES);
  const key = sha256('board-firmware', board.target.cc!, flags.join(' '), ld, runtimeC, artifact, ...hosts.flatMap((f) => [f.path, f.bytes]));
  const b = await cachedBuild(key, (tmp) => {
    writeFileSync(join(tmp, 'board.ld'), ld);
    const art = join(tmp, 'model.edgeq');
    writeFileSync(art, artifact);
    copyFileSync(join(c.dir, 'wasm-rt.h'), join(tmp, 'wasm-rt.h'));
    copyFileSync(join(c.dir, 'runtime.h'), join(tmp, 'runtime.h'));
    const bm = join(HOSTS_DIR, 'baremetal');
    tool(board.target.cc!, [...flags, `-DEQ_ARTIFACT=${art}`, `-I${tmp}`, `-I${join(HOSTS_DIR, 'baremetal')}`, `-I${join(HOSTS_DIR, 'common')}`, '-T', join(tmp, 'board.ld'),
      join(bm, p.startup), ...BOARD_SOURCES.map((f) => join(bm, f)),
      join(HOSTS_DIR, 'common/host_core.c'), join(HOSTS_DIR, 'common/sha256.c'), join(c.dir, 'runtime.c'), '-o', join(tmp, 'firmware.elf')], { what: 'firmware build', timeoutMs: 600_000 });
  });
  const elf = join(b.dir, 'firmware.elf');
  const size = elfSize(board, elf);
  const h = (bytes: Uint8Array) => fileSha256(bytes);
  const parts = [
    { role: 'artifact', path: 'model.edgeq', bytes: artifact },
    { role: 'runtime.wasm (scalar)', path: 'runtime.wasm', bytes: runtimeWasm },
    { role: 'generated C (wasm2c)', path: 'runtime.c', bytes: runtimeC },
    { role: 'generated C header (wasm2c)', path: 'runtime.h', bytes: readFileSync(join(c.dir, 'runtime.h')) },
    ...hosts.map((f) => ({ role: 'host source', path: f.path, bytes: f.bytes })),
    { role: `linker script (generated from targets/${board.target.name}.json)`, path: 'board.ld', bytes: new TextEncoder().encode(ld) },
    { role: 'firmware image', path: 'firmware.elf', bytes: readFileSync(elf) },
  ].map((p) => ({ role: p.role, path: p.path, sha256: h(p.bytes), bytes: p.bytes.length }));
  return { elf, dir: b.dir, built: b.built, size, heapBytes, wasmBytes, weights: { bytes: artifact.length, address: artifactAddress(board, elf) }, parts, flags };
}

/** The flash address of eq_artifact (binutils nm next to the board's gcc). */
function artifactAddress(board: Board, elf: string): number {
  const nm = board.target.cc!.replace(/gcc$/, 'nm');
  const line = tool(nm, [elf], { what: nm }).stdout.split('\n').find((l) => / eq_artifact$/.test(l));
  if (!line) throw new EdgeqError(`${elf}: no eq_artifact symbol`);
  return parseInt(line.split(' ')[0], 16);
}

/** Berkeley sizes from binutils' size; flash = text + data, RAM = data + bss + stack. */
export function elfSize(board: Board, elf: string): FirmwareSize {
  const out = tool(sizeTool(board), ['-B', elf], { what: sizeTool(board) }).stdout.trim().split('\n');
  const [text, data, bss] = out[out.length - 1].trim().split(/\s+/).slice(0, 3).map(Number);
  return { text, data, bss, flash: text + data, ram: data + bss + STACK_BYTES };
}

/** The emulator's arguments for an image (the board profile's, "{elf}" replaced). */
export const emulatorArgs = (b: Board, elf: string) => b.profile.emulatorArgs.map((a) => (a === '{elf}' ? elf : a));

/** Boots an image on the board's emulator; `onStdout` gets what the board prints as it comes. */
export function bootFirmware(b: Board, elf: string, timeoutMs: number, onStdout?: (b: Buffer) => void) {
  return runStreaming(b.target.emulator!, emulatorArgs(b, elf), { timeoutMs, onStdout });
}
