// llama.cpp, the peer edgeq is measured against on devices: built from the source snapshot
// in ../shared/peers (never vendored) for x86-64 (native CPU build) and, with Debian's
// cross compilers, for AArch64 and RISC-V (run under qemu-user), as that snapshot's README
// says; and its GGUF models of the same synthetic weights edgeq's bench bundles use
// (writeSynth, seed 1), converted by its llama2.c converter and quantized by llama-quantize.
// Everything is built once into the engine cache (compiler/engines/cache.ts), keyed by the
// tarball's bytes, the architecture and the flags.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { cachedBuild, fileSha256, sha256 } from '../../compiler/engines/cache.ts';
import { which, tool } from '../../compiler/engines/proc.ts';
import { writeSynth, SHAPES, type ShapeName } from '../../compiler/synth/synth.ts';

const ROOT = resolve(import.meta.dirname, '../..');
export const PEERS = process.env.EDGEQ_PEERS ?? resolve(ROOT, '../shared/peers');
export const LLAMA_TARBALL = join(PEERS, 'llama.cpp-c392e50.tar.gz');
/** llama2.c's 32000-token tokenizer, whose vocabulary the converter copies. */
const TOKENIZER = resolve(ROOT, '../shared/models/tokenizer-llama2-32k.bin');

export type PeerArch = 'x86_64' | 'aarch64' | 'riscv64';
const CROSS = (a: string) => [`-DCMAKE_C_COMPILER=${a}-linux-gnu-gcc`, `-DCMAKE_CXX_COMPILER=${a}-linux-gnu-g++`, '-DCMAKE_SYSTEM_NAME=Linux', `-DCMAKE_SYSTEM_PROCESSOR=${a}`, '-DGGML_NATIVE=OFF'];
/** Per architecture: cmake flags, targets, and how to run (qemu-user and its CPU options). */
export const PEER_ARCHES: Record<PeerArch, { cmake: string[]; targets: string[]; emulator?: string; qemuArgs: string[]; note: string }> = {
  x86_64: { cmake: ['-DGGML_NATIVE=ON'], targets: ['llama-bench', 'llama-quantize', 'llama-convert-llama2c-to-ggml'], qemuArgs: [], note: 'native CPU build (-march=native)' },
  // Dynamically linked: qemu-user finds the loader and libraries in the cross sysroot (-L).
  aarch64: { cmake: CROSS('aarch64'), targets: ['llama-bench'], emulator: 'qemu-aarch64', qemuArgs: ['-L', '/usr/aarch64-linux-gnu'], note: 'ARMv8-A NEON (no dot-product extension: a Cortex-A53/A72 board)' },
  // ggml's CMake adds -march=rv64gcv when GGML_RVV is on (the default): the RVV 1.0 kernels.
  riscv64: { cmake: CROSS('riscv64'), targets: ['llama-bench'], emulator: 'qemu-riscv64', qemuArgs: ['-L', '/usr/riscv64-linux-gnu', '-cpu', 'rv64,v=true,vlen=128'], note: 'RV64GCV (RVV 1.0, VLEN 128)' },
};
// The snapshot has no tests/ directory (README there), so its CMake must not look for it.
const COMMON = ['-DCMAKE_BUILD_TYPE=Release', '-DLLAMA_BUILD_TESTS=OFF', '-DLLAMA_CURL=OFF', '-DGGML_OPENMP=OFF', '-DBUILD_SHARED_LIBS=OFF'];

/** null when llama.cpp can be built for `arch` here, else why not. */
export function peerMissing(arch: PeerArch): string | null {
  if (!existsSync(LLAMA_TARBALL)) return `no llama.cpp snapshot at ${LLAMA_TARBALL}`;
  for (const t of ['cmake', 'tar', arch === 'x86_64' ? 'g++' : `${arch}-linux-gnu-g++`, ...(PEER_ARCHES[arch].emulator ? [PEER_ARCHES[arch].emulator!] : [])]) {
    if (!which(t)) return `missing ${t}${t.endsWith('-linux-gnu-g++') ? ' (EDGEQ_WITH_PEERS=1 bash scripts/setup-deps.sh installs it)' : ''}`;
  }
  return null;
}

let tarSha: string | undefined;
/** The build key (also the cache directory name under engines/). */
export function llamaBuildKey(arch: PeerArch): string {
  tarSha ??= fileSha256(readFileSync(LLAMA_TARBALL));
  return sha256('llama.cpp', tarSha, arch, [...COMMON, ...PEER_ARCHES[arch].cmake].join(' '), PEER_ARCHES[arch].targets.join(' '));
}

/** Builds (once) llama.cpp for `arch`; returns the directory holding its binaries. */
export async function llamaCpp(arch: PeerArch, log: (s: string) => void = () => {}): Promise<string> {
  const why = peerMissing(arch);
  if (why) throw new Error(`llama.cpp for ${arch}: ${why}`);
  const { dir } = await cachedBuild(llamaBuildKey(arch), (tmp) => {
    log(`building llama.cpp for ${arch} (minutes, once)...`);
    tool('tar', ['xzf', LLAMA_TARBALL, '-C', tmp, '--strip-components=1'], { what: 'llama.cpp unpack' });
    tool('cmake', ['-S', tmp, '-B', join(tmp, 'build'), ...COMMON, ...PEER_ARCHES[arch].cmake], { what: `llama.cpp ${arch} configure`, timeoutMs: 600_000 });
    tool('cmake', ['--build', join(tmp, 'build'), '-j2', '--target', ...PEER_ARCHES[arch].targets], { what: `llama.cpp ${arch} build`, timeoutMs: 3_600_000 });
  });
  return join(dir, 'build', 'bin');
}

export type PeerQuant = 'F32' | 'Q8_0' | 'Q4_0' | 'Q2_K';

/** The GGUF of the synthetic `shape` (seed 1) at `quant`, made with the x86-64 build's tools. */
export async function peerModel(shape: ShapeName, quant: PeerQuant, log: (s: string) => void = () => {}): Promise<string> {
  const bin = await llamaCpp('x86_64', log);
  const f32Key = sha256('llama.cpp-gguf', llamaBuildKey('x86_64'), shape, JSON.stringify(SHAPES[shape]), 'seed1', 'F32');
  const f32 = await cachedBuild(f32Key, (tmp) => {
    log(`converting synthetic ${shape} to GGUF...`);
    const ckpt = join(tmp, 'model.bin');
    writeSynth(ckpt, { ...SHAPES[shape] }, 1);
    tool(join(bin, 'llama-convert-llama2c-to-ggml'), ['--copy-vocab-from-model', TOKENIZER, '--llama2c-model', ckpt, '--llama2c-output-model', join(tmp, 'model.gguf')], { what: 'llama.cpp llama2c conversion', timeoutMs: 1_200_000 });
    tool('rm', [ckpt]);
  });
  if (quant === 'F32') return join(f32.dir, 'model.gguf');
  const q = await cachedBuild(sha256('llama.cpp-quantize', f32Key, quant), (tmp) => {
    log(`quantizing ${shape} to ${quant}...`);
    tool(join(bin, 'llama-quantize'), [join(f32.dir, 'model.gguf'), join(tmp, 'model.gguf'), quant, '1'], { what: 'llama-quantize', timeoutMs: 1_200_000 });
  });
  return join(q.dir, 'model.gguf');
}

/** llama-bench's arguments for n generated tokens, one thread, one repetition. */
export const llamaBenchArgs = (model: string, n: number) => ['-m', model, '-p', '0', '-n', String(n), '-t', '1', '-r', '1'];
