// `edgeq compile`: checkpoint -> device bundle (model.edgeq, runtime.wasm, manifest.json, and
// train.wasm, the host's training module, unless --no-train).
// Everything is built in a temporary directory next to the output and renamed into place
// at the end, so a failure at any step leaves no half-written bundle behind.
import type { Command } from 'commander';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { checkOutputBundleDir } from '../paths.ts';
import { heavyPackagesPending, loadHeavyPackages } from '../../util/heavy.ts';
import { checkInputFile } from '../../util/input-file.ts';
import { probeModelPath } from '../../import/open-model.ts';
import { fsyncDir, writeFileDurable } from '../../util/atomic-write.ts';
import { basename, dirname, join, resolve } from 'node:path';
import type { BundleFiles } from '../../bundle.ts';
import { intOption } from '../options.ts';
import { signWithKeyFile } from '../../util/signing.ts';
import { encodeSignature } from '../../engines/trust.ts';
import { loadTarget } from '../../target/profile.ts';
import { KV_FORMAT_SYNTAX, parseKvFormat } from '../../quantize/kv-cache.ts';
import { parseContext } from '../../plan/context.ts';
import { EdgeqError } from '../../util/errors.ts';

interface CompileOptions {
  target: string; plan: string; gptq?: boolean; awq?: boolean; calibrationTokens?: number; tokenizer?: string; vectors: number; output: string;
  /** Ed25519 private key (PEM, from `edgeq keygen`): also write manifest.sig. */
  sign?: string;
  kv: string;
  context?: string;
  /** false with --no-train: no training module (train.wasm). */
  train: boolean;
}

export function register(program: Command): void {
  program
    .command('compile')
    .description('compile a model (llama2.c, GGUF or Hugging Face; see docs/model-sources.md) into a device bundle: model.edgeq + runtime.wasm + manifest.json')
    .argument('<checkpoint>', 'a model: llama2.c .bin, GGUF (.gguf), .safetensors beside config.json, or a Hugging Face directory (detected from the content); a GGUF file or HF directory brings its own tokenizer')
    .option('--target <name>', 'target profile (targets/<name>.json), e.g. wasm32, aarch64-linux, riscv64-linux, cortex-m (default wasm32, as edgeq plan)', 'wasm32')
    .option('--plan <plan>', 'precision plan: uniform:<8|6|5|4|3|2|1>[g<32|64|128>] (low-bit group size default 64; 5-bit takes g32/g64, 6-bit g32) or uniform:vq2 (= uniform:2.5: pairs of weights coded into a 32-word codebook per matrix, 2.5 bits per weight; fits 2-bit quality best with --gptq; docs/integer-spec.md §9.7) with an optional ,cls<6|5|4|3|2|1|vq2>[g<G>] (a low-bit classifier; default int8), a plan file <file>.json (docs/integer-spec.md §11), ewq (an EWQ plan with edgeq plan\'s defaults), or fastewq (FastEWQ: EWQ decisions predicted from the configuration, no weights read)', 'uniform:8')
    .option('--gptq', 'choose the weights by GPTQ (int8 and the low-bit formats; data-free calibration; slower, more accurate)')
    .option('--awq', 'fold activation-aware (AWQ) per-channel scales into the float weights before quantizing (low-bit plans; data-free calibration; combines with --gptq; the runtime is unchanged)')
    .option('--calibration-tokens <n>', 'tokens of self-generated calibration text for --gptq and --awq (sequences of up to 256; default 8192: the float model runs once per token, minutes to hours for 100M+ models)', intOption('--calibration-tokens', 1, 1 << 20))
    .option('--tokenizer <path>', 'embed this tokenizer (llama2.c tokenizer.bin, a GGUF file, or an HF tokenizer.json) instead of the model\'s own, so the device (and edgeq run) can print text')
    .option('--kv <format>', `KV cache format (docs/kv-cache.md): ${KV_FORMAT_SYNTAX}, e.g. k4v4,w32`, 'k12v8')
    .option('--context <n|max>', 'context (positions, at most the model\'s seq_len): N, or max: the largest whose RAM fits the target (the KV cache grows with it; default: the model\'s)')
    .option('--vectors <n>', 'conformance positions to embed (greedy from BOS; 0 = none)', intOption('--vectors', 0, 4096), 32)
    .option('--no-train', 'do not build the training module (train.wasm): finetune and run/eval --adapter then build it when first needed (cached), the web page fine-tunes with the slower TypeScript reference (same bytes)')
    .option('--sign <key>', 'sign the bundle: an Ed25519 signature of manifest.json (which lists the sha256 of every file) goes to <dir>/manifest.sig; check it with --trust <key.pub> on run, verify, flash')
    .requiredOption('-o, --output <dir>', 'bundle directory to write; an existing one is replaced only if it is an edgeq bundle (never the current directory, a non-empty folder of other files, or one holding an input)')
    .addHelpText('after', `
Progress goes to stderr. The bundle is deterministic: the same inputs give the same bytes.

Examples:
  $ edgeq compile ../shared/models/stories260K.bin --target wasm32 --plan uniform:8 -o out/stories260K
  $ edgeq compile ../shared/models/babyllama936K.bin --target wasm32 --plan uniform:4g64 -o out/b4
  $ edgeq compile model.bin --target cortex-m --plan examples/mixed-plan.json -o out/mixed
  $ edgeq compile model.bin --target cortex-m --gptq --tokenizer tok512.bin -o out/m
  $ edgeq compile model.bin --plan uniform:2g32 --awq --gptq -o out/m2
  $ edgeq compile ../shared/models/babyllama936K.bin --plan uniform:vq2 --gptq -o out/bvq2
`)
    .action((checkpoint: string, opts: CompileOptions) => compile(checkpoint, opts));
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function compile(checkpoint: string, opts: CompileOptions): Promise<void> {
  // Paths first, before seconds of work: inputs are what they claim, the output replaces
  // nothing edgeq did not write (compiler/cli/paths.ts).
  probeModelPath(checkpoint); // a model file or model directory, never a FIFO or device
  if (opts.tokenizer !== undefined) checkInputFile(opts.tokenizer, 'a tokenizer (llama2.c tokenizer.bin, GGUF or HF tokenizer.json)');
  const planFile = opts.plan.endsWith('.json') ? [opts.plan] : [];
  const context = opts.context === undefined ? undefined : parseContext(opts.context);
  parseKvFormat(opts.kv); // a bad --kv is a usage error now, not after the compiler loads
  if (opts.calibrationTokens !== undefined && !opts.gptq && !opts.awq) throw new EdgeqError('--calibration-tokens sizes the calibration of --gptq and --awq; give one of them', {}, 2);
  checkOutputBundleDir(opts.output, '-o', [checkpoint, ...planFile, ...(opts.tokenizer ? [opts.tokenizer] : []), ...(opts.sign ? [opts.sign] : [])]);
  const out = resolve(opts.output);
  // A bad key fails now, not after minutes of compiling.
  if (opts.sign !== undefined) signWithKeyFile(new Uint8Array(0), opts.sign);
  // The compiler proper (binaryen, AssemblyScript) loads only now: --help and bad paths answer at once.
  if (heavyPackagesPending()) process.stderr.write(`edgeq compile: loading the compiler\n`);
  await loadHeavyPackages();
  const [{ compileBundle }, { checkTargetBudget }, { checkPlanBudget }] = await Promise.all([
    import('../../bundle.ts'), import('../../target/budget.ts'), import('../../plan/budget.ts'),
  ]);
  const files: BundleFiles & { 'manifest.sig'?: Uint8Array } = await compileBundle({
    checkpoint, target: opts.target, plan: opts.plan, gptq: !!opts.gptq, awq: !!opts.awq, calibrationTokens: opts.calibrationTokens, tokenizer: opts.tokenizer, vectors: opts.vectors, kv: opts.kv, context, train: opts.train,
    progress: (msg) => process.stderr.write(`edgeq compile: ${msg}\n`),
  });
  // Refuse, with the numbers, a bundle its device could not hold (before writing anything).
  const kv = (JSON.parse(new TextDecoder().decode(files['manifest.json'])) as { kvCache: { format: string; bytes: number; context: number } }).kvCache;
  process.stderr.write(`edgeq compile: KV cache ${kv.format}: ${kv.bytes} bytes at context ${kv.context}\n`);
  const use = await checkTargetBudget(files['model.edgeq'], files['runtime.wasm'], loadTarget(opts.target)).catch((e: Error) => {
    throw new EdgeqError(`${e.message} (the KV cache takes ${kv.bytes} bytes: ${kv.format} at context ${kv.context}; a smaller --kv or --context, or --context max, needs less)`, {}, 1);
  });
  checkPlanBudget(opts.plan, files['model.edgeq'].length, files['runtime.wasm'].length);
  if (use) process.stderr.write(`edgeq compile: fits ${opts.target}: flash ≥ ${use.flashBytes} bytes, RAM ${use.ramBytes} bytes\n`);
  if (opts.sign !== undefined) {
    files['manifest.sig'] = new TextEncoder().encode(encodeSignature(signWithKeyFile(files['manifest.json'], opts.sign)));
  }
  // Build next to the output, then swap it in (the signature with the rest).
  const parent = dirname(out);
  mkdirSync(parent, { recursive: true });
  const tmp = join(parent, `.${basename(out)}.tmp-${process.pid}`);
  const old = join(parent, `.${basename(out)}.old-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  try {
    mkdirSync(tmp);
    for (const [name, data] of Object.entries(files)) writeFileDurable(join(tmp, name), data);
    fsyncDir(tmp);
    if (existsSync(out)) renameSync(out, old);
    renameSync(tmp, out);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    if (existsSync(old) && !existsSync(out)) renameSync(old, out);
    throw e;
  }
  fsyncDir(parent);
  rmSync(old, { recursive: true, force: true });
  const sizes = Object.entries(files).filter(([n]) => n !== 'manifest.json' && n !== 'manifest.sig').map(([n, d]) => `${n} ${d.length} bytes (sha256 ${sha256(d).slice(0, 12)}…)`);
  process.stderr.write(`edgeq compile: wrote ${opts.output}: ${sizes.join(', ')}${files['manifest.sig'] ? ', signed (manifest.sig)' : ''} in ${(performance.now() / 1000).toFixed(1)} s (since edgeq started)\n`);
}

