// Bare-metal firmware for the Cortex-M target (targets/cortex-m.json, board mps2-an386):
// the scalar runtime through wasm2c, the bare-metal host (targets/hosts/baremetal +
// common) and the artifact linked into flash, built with arm-none-eabi-gcc. Used by the
// cortex-m conformance engine (EQ_SELFTEST) and by `edgeq flash`.
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
import { wabtMissing } from './wabt.ts';
import { EdgeqError } from '../util/errors.ts';

export const ARM_CC = 'arm-none-eabi-gcc';
export const ARM_FLAGS = ['-mcpu=cortex-m4', '-mthumb', '-mfloat-abi=soft', ...C_FLAGS, '-nostartfiles', '--specs=nano.specs', '--specs=nosys.specs',
  '-DWASM_RT_MEMCHECK_SIGNAL_HANDLER=0', '-ffunction-sections', '-fdata-sections', '-Wl,--gc-sections'];
/** C stack kept free at the top of RAM (the linker script puts the stack there). */
export const STACK_BYTES = 64 * 1024;
const PAGE = 65536;

export function firmwareToolsMissing(withQemu: boolean): string | null {
  const t: Array<[string, string]> = [[ARM_CC, 'gcc-arm-none-eabi'], ['arm-none-eabi-size', 'binutils-arm-none-eabi']];
  if (withQemu) t.push(['qemu-system-arm', 'qemu-system-arm']);
  return wabtMissing() ?? missingTools(t);
}

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
  heapBytes: number;
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

export async function buildFirmware(runtimeWasm: Uint8Array, artifact: Uint8Array, opts: FirmwareOptions): Promise<Firmware> {
  const why = firmwareToolsMissing(false);
  if (why) throw new EdgeqError(`cannot build firmware: ${why}`);
  const heapBytes = Math.ceil((opts.heapBytes ?? await measureWasmMemory(runtimeWasm, artifact)) / PAGE) * PAGE;
  const c = await wasm2cSources(runtimeWasm);
  const hosts = hostFiles('common', 'baremetal', 'wasm-rt');
  const expectSha = opts.artifactSha256 ?? fileSha256(artifact);
  const flags = [...ARM_FLAGS, `-DEQ_ARTIFACT_SHA256=${digestInitializer(expectSha)}`, `-DEQ_WASM_HEAP_BYTES=${heapBytes}`, `-DEQ_STEPS=${opts.steps}`, ...(opts.selftest ? ['-DEQ_SELFTEST'] : [])];
  const runtimeC = readFileSync(join(c.dir, 'runtime.c'));
  const key = sha256('cortex-m-firmware', flags.join(' '), runtimeC, artifact, ...hosts.flatMap((f) => [f.path, f.bytes]));
  const b = await cachedBuild(key, (tmp) => {
    const art = join(tmp, 'model.edgeq');
    writeFileSync(art, artifact);
    copyFileSync(join(c.dir, 'wasm-rt.h'), join(tmp, 'wasm-rt.h'));
    copyFileSync(join(c.dir, 'runtime.h'), join(tmp, 'runtime.h'));
    const bm = join(HOSTS_DIR, 'baremetal');
    tool(ARM_CC, [...flags, `-DEQ_ARTIFACT=${art}`, `-I${tmp}`, `-I${join(HOSTS_DIR, 'common')}`, '-T', join(bm, 'mps2.ld'),
      join(bm, 'startup.c'), join(bm, 'wasm_rt_baremetal.c'), join(bm, 'main.c'), join(bm, 'artifact.S'),
      join(HOSTS_DIR, 'common/host_core.c'), join(HOSTS_DIR, 'common/sha256.c'), join(c.dir, 'runtime.c'), '-o', join(tmp, 'firmware.elf')], { what: 'firmware build', timeoutMs: 600_000 });
  });
  const elf = join(b.dir, 'firmware.elf');
  const size = elfSize(elf);
  const h = (bytes: Uint8Array) => fileSha256(bytes);
  const parts = [
    { role: 'artifact', path: 'model.edgeq', bytes: artifact },
    { role: 'runtime.wasm (scalar)', path: 'runtime.wasm', bytes: runtimeWasm },
    { role: 'generated C (wasm2c)', path: 'runtime.c', bytes: runtimeC },
    { role: 'generated C header (wasm2c)', path: 'runtime.h', bytes: readFileSync(join(c.dir, 'runtime.h')) },
    ...hosts.map((f) => ({ role: 'host source', path: f.path, bytes: f.bytes })),
    { role: 'firmware image', path: 'firmware.elf', bytes: readFileSync(elf) },
  ].map((p) => ({ role: p.role, path: p.path, sha256: h(p.bytes), bytes: p.bytes.length }));
  return { elf, dir: b.dir, built: b.built, size, heapBytes, parts, flags };
}

/** Berkeley sizes from arm-none-eabi-size; flash = text + data, RAM = data + bss + stack. */
export function elfSize(elf: string): FirmwareSize {
  const out = tool('arm-none-eabi-size', ['-B', elf], { what: 'arm-none-eabi-size' }).stdout.trim().split('\n');
  const [text, data, bss] = out[out.length - 1].trim().split(/\s+/).slice(0, 3).map(Number);
  return { text, data, bss, flash: text + data, ram: data + bss + STACK_BYTES };
}

export const QEMU_ARGS = (elf: string, board: string) =>
  ['-M', board, '-nographic', '-monitor', 'none', '-semihosting-config', 'enable=on,target=native', '-kernel', elf];

/** Boots an image on qemu-system-arm; `onStdout` gets what the board prints as it comes. */
export function bootFirmware(elf: string, board: string, timeoutMs: number, onStdout?: (b: Buffer) => void) {
  return runStreaming('qemu-system-arm', QEMU_ARGS(elf, board), { timeoutMs, onStdout });
}
