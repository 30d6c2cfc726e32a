// `edgeq flash <dir> --board <name>`: builds the firmware image of a bundle for a board
// (runtime via wasm2c, the bare-metal C host, the artifact linked into flash), checks it
// against the target's flash and RAM budgets, writes it with a manifest (sha256 of every
// part), and boots it on the board's emulator, streaming what it prints to stdout. The
// boards are the target profiles with a "board" (targets/*.json, compiler/engines/board.ts).
import type { Command } from 'commander';
import { basename, dirname, join } from 'node:path';
import { readFileSync } from 'node:fs';
import { readBundle } from '../../engines/engine.ts';
import { bootFirmware, buildFirmware, emulatorArgs, firmwareToolsMissing, type Firmware } from '../../engines/firmware.ts';
import { boards, describeBoards, findBoard } from '../../engines/board.ts';
import { runtimeFlavour } from '../../engines/runtime-flavour.ts';
import type { TargetProfile } from '../../target/profile.ts';
import { writeFileAtomic } from '../../util/atomic-write.ts';
import { EdgeqError, usageError } from '../../util/errors.ts';
import { VERSION } from '../../version.ts';
import { addPositionsOption, intOption } from '../options.ts';
import { checkTrust } from '../../engines/trust.ts';
import { kvCacheOfProgram } from '../../quantize/kv-cache.ts';
import { bundleInputs, checkOutputFile } from '../paths.ts';

interface FlashOptions { board?: string; listBoards?: boolean; output?: string; positions: number; boot: boolean; selftest?: boolean; timeout: number; trust?: string }

const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;

/** Throws (exit 1) with the numbers when the image does not fit the target. */
export function checkBudget(fw: Firmware, t: TargetProfile, kv?: { format: string; bytes: number; context: number }): string[] {
  const lines = [
    `flash: ${fw.size.flash} bytes (${kib(fw.size.flash)}: text ${fw.size.text} + data ${fw.size.data})` +
      (t.flashBytes ? ` of ${t.flashBytes} (${((100 * fw.size.flash) / t.flashBytes).toFixed(1)}%)` : ''),
    `RAM:   ${fw.size.ram} bytes (${kib(fw.size.ram)}: data ${fw.size.data} + bss ${fw.size.bss}, of which wasm memory ${fw.heapBytes}, + stack ${fw.size.ram - fw.size.data - fw.size.bss})` +
      (t.ramBytes ? ` of ${t.ramBytes} (${((100 * fw.size.ram) / t.ramBytes).toFixed(1)}%)` : '') +
      (kv ? `; KV cache ${kv.bytes} bytes (${kib(kv.bytes)}, ${kv.format} at context ${kv.context})` : ''),
    `weights: model.edgeq ${fw.weights.bytes} bytes (${kib(fw.weights.bytes)}) read in place from flash at 0x${fw.weights.address.toString(16).padStart(8, '0')}, not in RAM ` +
      `(the runtime's wasm memory is ${fw.wasmBytes} bytes: ${fw.wasmBytes - fw.weights.bytes} in RAM + the ${fw.weights.bytes}-byte window onto flash)`,
  ];
  const over: string[] = [];
  if (t.flashBytes && fw.size.flash > t.flashBytes) over.push(`flash by ${fw.size.flash - t.flashBytes} bytes (${fw.size.flash} > ${t.flashBytes})`);
  if (t.ramBytes && fw.size.ram > t.ramBytes) over.push(`RAM by ${fw.size.ram - t.ramBytes} bytes (${fw.size.ram} > ${t.ramBytes})`);
  if (over.length) throw new EdgeqError(`the image does not fit target ${t.name}: over ${over.join(' and ')}\n${lines.join('\n')}`);
  return lines;
}

async function flash(dir: string | undefined, opts: FlashOptions): Promise<void> {
  if (opts.listBoards) {
    process.stdout.write(`${describeBoards().join('\n')}\n`);
    return;
  }
  if (dir === undefined) throw usageError('missing argument <dir> (the bundle directory); or --list-boards');
  if (opts.board === undefined) throw usageError(`--board <name> is required; known boards: ${boards().map((b) => b.name).join(', ')} (edgeq flash --list-boards)`);
  const board = findBoard(opts.board);
  // Where the image and its manifest go, checked first: never over the bundle's own files.
  const out = opts.output ?? join(dir, `firmware-${opts.board}.elf`);
  const manifestPath = join(dirname(out), `${basename(out).replace(/\.elf$/, '')}.manifest.json`);
  checkOutputFile(out, '-o', bundleInputs(dir));
  checkOutputFile(manifestPath, '-o (its .manifest.json)', [...bundleInputs(dir), out]);
  if (opts.trust !== undefined) checkTrust(dir, opts.trust);
  const target = board.target;
  const why = firmwareToolsMissing(board, opts.boot);
  if (why) throw new EdgeqError(`cannot build for ${opts.board}: ${why}`);
  const bundle = readBundle(dir);
  const rt = await runtimeFlavour(bundle, false);
  // The device checks the artifact against the manifest's hash before running it.
  const listed = (bundle.manifest?.files as Record<string, { sha256?: string }> | undefined)?.['model.edgeq']?.sha256;
  if (listed !== undefined && !/^[0-9a-f]{64}$/.test(String(listed))) {
    throw new EdgeqError(`files["model.edgeq"].sha256 is not 64 lowercase hex digits: ${JSON.stringify(listed)}`, { file: join(dir, 'manifest.json') });
  }
  const fw = await buildFirmware(board, rt.wasm, bundle.artifact, { selftest: opts.selftest ?? false, steps: opts.positions, artifactSha256: listed });
  const budget = checkBudget(fw, target, kvCacheOfProgram(bundle.contents));
  const manifest = {
    edgeq: VERSION,
    board: opts.board,
    target: target.name,
    bundle: dir,
    runtime: { origin: rt.origin, simd: false },
    positions: opts.positions,
    selftest: opts.selftest ?? false,
    weights: { bytes: fw.weights.bytes, flashAddress: fw.weights.address, inRam: false },
    size: { ...fw.size, wasmMemoryBytes: fw.heapBytes, wasmVirtualBytes: fw.wasmBytes, flashBudget: target.flashBytes, ramBudget: target.ramBytes },
    compiler: { cc: target.cc, flags: fw.flags },
    boot: `${target.emulator} ${emulatorArgs(board, basename(out)).join(' ')}`,
    parts: fw.parts,
  };
  // The image first, then the manifest that names it: each appears whole or not at all.
  writeFileAtomic(out, readFileSync(fw.elf));
  writeFileAtomic(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  process.stderr.write(`${out}: firmware for ${opts.board} (${fw.built ? 'built' : 'from cache'}), manifest ${manifestPath}\n${budget.map((l) => `  ${l}`).join('\n')}\n`);
  if (!opts.boot) return;
  process.stderr.write(`booting on ${target.emulator} (board ${board.name})...\n`);
  const r = await bootFirmware(board, out, opts.timeout * 1000, (b) => process.stdout.write(b));
  if (r.timedOut) throw new EdgeqError(`the board did not exit within ${opts.timeout} s`);
  if (r.status !== 0) throw new EdgeqError(`the board exited with status ${r.status ?? r.signal}${r.stderr ? `: ${r.stderr.trim()}` : ''}`);
  process.stderr.write(`board exited 0 after ${(r.ms / 1000).toFixed(1)} s\n`);
}

export function register(program: Command): void {
  const cmd = program.command('flash');
  addPositionsOption(cmd, 'flash', 'greedy positions the board generates from BOS after boot (default 64)', 64);
  cmd
    .description('build a bundle\'s firmware image for a board, check it fits, and boot it on the emulated board')
    .argument('[dir]', 'bundle directory (model.edgeq + runtime.wasm), from `edgeq compile`')
    .option('--board <name>', `board: ${boards().map((b) => `${b.name} (${b.profile.about})`).join(', ')}`)
    .option('--list-boards', 'print every board with its CPU, flash and RAM budgets, memory map, emulator and conformance engine, and exit')
    .option('-o, --output <file.elf>', 'where the image goes (default <dir>/firmware-<board>.elf); a .manifest.json is written next to it')
    .option('--selftest', 'run the embedded conformance vectors before generating (prints "selftest <pos> <hash>" lines)')
    .option('--no-boot', 'build and write the image only')
    .option('--timeout <seconds>', 'time limit for the emulated boot', intOption('--timeout', 1), 600)
    .option('--trust <key.pub>', 'flash only a bundle whose manifest is signed by this Ed25519 public key (edgeq compile --sign) and whose files match it')
    .addHelpText('after', `
The image's flash and RAM use are printed (from binutils' size) against the target's
budget (targets/<target>.json); an image over budget is refused with the numbers.
A board is a target profile with a "board" section (docs/boards.md); --list-boards shows them.
The generated text goes to stdout exactly as \`edgeq run <dir> --temperature 0\` prints it.

Examples:
  $ edgeq flash out/stories260K --board mps2-an386 --positions 64
  $ edgeq flash out/stories260K --board mps2-an386 -o fw.elf --no-boot
  $ edgeq flash out/stories260K --board virt-rv32 --positions 64
  $ edgeq flash --list-boards
`)
    .action((dir: string | undefined, opts: FlashOptions) => flash(dir, opts));
}
