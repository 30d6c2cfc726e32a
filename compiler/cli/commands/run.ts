// `edgeq run`: generate text with a model, printing it the way llama2.c's `run` does, so
// any engine can be checked against llama2.c (and against each other) by eye or by diff.
// The model is a llama2.c checkpoint (engines reference-float, reference-int) or a bundle
// directory from `edgeq compile` (engine v8: its runtime.wasm in V8, through the JavaScript
// API's model: the same code as a page).
import type { Command } from 'commander';
import { modelTokenizer, openModel } from '../../import/open-model.ts';
import { loadWeights, type Graph } from '../../import/graph.ts';
import type { TextTokenizer } from '../../import/tokenizers/text-tokenizer.ts';
import { FloatTransformer } from '../../reference/float/forward.ts';
import { DEFAULT_SEED, Sampler } from '../../reference/float/sampler.ts';
import { clampSteps, generate, printedBytes, type Engine, type TokenPicker } from '../../generate.ts';
import { quantizeInt8 } from '../../quantize/int8.ts';
import { IntTransformer } from '../../../runtime/reference/model.ts';
import { intReferenceEngine, samplerProblem } from '../../engines/int-engines.ts';
import { readAdapterForBundle } from '../../emit/adapter.ts';
import { bundleTokenizer, isBundleDir, openBundle } from '../../engines/bundle.ts';
import { openBundleModel } from '../../api/node.ts';
import type { ModelInternals } from '../../api/index.ts';
import { EdgeqError, usageError } from '../../util/errors.ts';
import { addPositionsOption, floatOption, intOption } from '../options.ts';
import { checkTrust } from '../../engines/trust.ts';
import { describeEngines, engineOption } from '../../engines/names.ts';
import { MAX_THREADS } from '../../codegen/threads.ts';
import { THREADS_MIN_MODEL_BYTES, defaultThreads } from '../../engines/threaded-runtime.ts';
import { nativeGenerate } from '../../engines/native-run.ts';

interface Loaded { engine: Engine; picker: (o: RunOptions) => TokenPicker }

/** Engines `run` can drive from a checkpoint, by --engine name (compiler/engines/names.ts). */
const ENGINES: Record<'reference-float' | 'reference-int' | 'v8' | 'wasm2c', { load: (model: Graph) => Loaded }> = {
  'reference-float': {
    load: (model) => ({
      engine: new FloatTransformer(loadWeights(model)),
      picker: (o) => new Sampler({ temperature: o.temperature, topp: o.topp, seed: o.seed }),
    }),
  },
  'reference-int': {
    load: (model) => {
      const e = intReferenceEngine(new IntTransformer(quantizeInt8(loadWeights(model))));
      return { engine: e, picker: (o) => e.picker(o.temperature, o.topp, o.seed) };
    },
  },
  v8: {
    load: () => { throw usageError('--engine v8 runs a bundle directory (from edgeq compile), not a checkpoint'); },
  },
  wasm2c: {
    load: () => { throw usageError('--engine wasm2c runs a bundle directory (from edgeq compile), not a checkpoint'); },
  },
};
const RUN_ENGINES = Object.keys(ENGINES) as Array<keyof typeof ENGINES>;

interface RunOptions {
  tokenizer?: string; engine?: string; prompt?: string;
  positions: number; temperature: number; topp: number; seed: number;
  /** Ed25519 public key: run the bundle only if it is signed by it and matches its manifest. */
  trust?: string;
  /** LoRA adapter (edgeq finetune) applied to a bundle's model. */
  adapter?: string;
  /** Threads a bundle's runtime decodes on (default: defaultThreads). */
  threads?: number;
}

export function register(program: Command): void {
  const cmd = program.command('run');
  addPositionsOption(cmd, 'run', 'positions to run, prompt included (default 256); 0 = the model\'s whole context (clamped to it)', 256);
  cmd
    .description('generate text from a llama2.c checkpoint or a compiled bundle, printed as llama2.c prints it')
    .argument('<model>', 'a model: llama2.c .bin, GGUF (.gguf), .safetensors beside config.json, or a Hugging Face directory (detected from the content), or a bundle directory written by edgeq compile')
    .option('--tokenizer <path>', 'tokenizer file (llama2.c tokenizer.bin, GGUF, or HF tokenizer.json); its vocabulary must match the model (a bundle, a GGUF file and an HF directory carry their own)')
    .option('--engine <name>', `what runs the model: ${describeEngines(RUN_ENGINES)}; default: reference-float for a checkpoint, v8 for a bundle (old names reference, int-reference, wasm still work)`, engineOption('run', RUN_ENGINES))
    .option('--prompt <text>', 'text to continue (default: none, the model starts the story). A character with no piece in the vocabulary is encoded byte by byte (llama2.c byte fallback) and those raw bytes are not echoed (llama2.c safe_printf), so emoji may not show; invalid UTF-8 in the argument reaches edgeq as U+FFFD (Node decodes arguments as UTF-8). A prompt longer than the positions run is cut, with a warning')
    .option('--temperature <t>', '0 = greedy (argmax); higher = more random; at most 32767 and, if not 0, at least 2^-16 (what the integer sampler holds, on every engine)', floatOption('--temperature', 0), 1.0)
    .option('--topp <p>', 'top-p (nucleus) sampling mass; 0 or 1 = sample from everything; if not 0, at least 2^-16 (integer sampler)', floatOption('--topp', 0, 1), 0.9)
    .option('--seed <n>', `random seed; the same seed gives the same text (llama2.c uses the clock, we default to ${DEFAULT_SEED} for reproducible runs)`,
      intOption('--seed', 1, Number.MAX_SAFE_INTEGER), Number(DEFAULT_SEED))
    .option('--trust <key.pub>', 'run a bundle only if its manifest is signed by this Ed25519 public key (edgeq compile --sign) and every file matches the manifest\'s sha256')
    .option('--threads <n>', `threads a bundle's runtime decodes on, 1 to ${MAX_THREADS} (default: every core, here ${defaultThreads(Infinity)}, for a model.edgeq of ${THREADS_MIN_MODEL_BYTES >> 20} MiB or more; 1 for a smaller one, where handing out the work costs more than it saves, and for a board's bundle). More than 1 runs the runtime's threaded flavour (built on first use, then cached): each matrix-vector product's rows are split between the threads, each row computed by the same code as on one thread, so the text and logits are byte-identical to --threads 1 (which runs the bundle's runtime.wasm as is). Node worker threads with --engine v8, pthreads with --engine wasm2c; not with --adapter; firmware and the reference engines run one thread`,
      intOption('--threads', 1, MAX_THREADS))
    .option('--adapter <file.edqa>', 'apply a LoRA adapter written by edgeq finetune (bundle directories only; it must have been trained on this bundle\'s model.edgeq). With it, --engine v8 runs the adapted runtime in V8 and --engine reference-int the integer reference')
    .addHelpText('after', `
The text goes to stdout as it is generated; the speed (achieved tok/s) goes to stderr.
Generation stops after --positions positions or when the model emits BOS (end of story).

Examples:
  $ edgeq run ../shared/models/stories260K.bin --tokenizer ../shared/models/tok512.bin --temperature 0
  $ edgeq compile ../shared/models/stories260K.bin --target wasm32 -o out/s260k
  $ edgeq run out/s260k --tokenizer ../shared/models/tok512.bin --temperature 0 --positions 64
  $ edgeq run model.bin --tokenizer tok.bin --prompt "Once upon a time" --seed 7 --positions 100
  $ edgeq run out/s260k --adapter out/style.edqa --temperature 0 --positions 64
  $ edgeq run out/s110m --threads 2 --temperature 0 --positions 64
  $ edgeq compile model.bin --target aarch64-linux -o out/a64 && edgeq run out/a64 --engine wasm2c --threads 4
`)
    .action((model: string, opts: RunOptions) => run(model, opts));
}

function checkpointEngine(checkpoint: string, opts: RunOptions): { loaded: Loaded; tokenizer: TextTokenizer; engineName: string } {
  const engineName = (opts.engine ?? 'reference-float') as keyof typeof ENGINES;
  // The graph reads only the header; check the vocabularies before loading any weights.
  const model = openModel(checkpoint);
  const tokenizer = modelTokenizer(model, opts.tokenizer);
  if (!tokenizer) throw usageError(`--tokenizer is required to run ${checkpoint}: the model carries no tokenizer (llama2.c keeps it in a separate tokenizer.bin)`);
  const vocab = model.config.vocabSize;
  if (tokenizer.vocabSize !== vocab) {
    throw new EdgeqError(`tokenizer ${opts.tokenizer ?? `embedded in ${checkpoint}`} has ${tokenizer.vocabSize} tokens but model ${checkpoint} has a vocabulary of ${vocab}`);
  }
  return { loaded: ENGINES[engineName].load(model), tokenizer, engineName };
}

/**
 * A bundle runs through the JavaScript API's model (compiler/api/), as a page does: the
 * runtime in V8, or with --adapter the training module (v8) or the integer reference
 * (reference-int). The reference engines without a bundle stay here: they run a float
 * checkpoint, which the API (bundles only) does not load.
 */
async function bundleModel(dir: string, opts: RunOptions): Promise<{ model: ModelInternals; engineName: string }> {
  const engineName = opts.engine ?? 'v8';
  if (opts.adapter === undefined && engineName !== 'v8') throw usageError(`--engine ${engineName} runs a checkpoint; a bundle directory runs on --engine v8 or wasm2c`);
  if (opts.adapter !== undefined && engineName !== 'v8' && engineName !== 'reference-int') throw usageError(`--adapter runs on --engine v8 or reference-int, not ${engineName}`);
  const bundle = openBundle(dir);
  // An explicit --tokenizer wins over the embedded one; either must match the vocabulary.
  const tokenizer = bundleTokenizer(bundle, opts.tokenizer);
  const state = opts.adapter !== undefined ? readAdapterForBundle(opts.adapter, bundle) : undefined;
  // An adapted model runs the training module or the reference (one thread); the threads are the base runtime's.
  const threads = state ? 1 : opts.threads ?? defaultThreads(bundle.artifactBytes.length, bundle.artifact.target.name);
  const model = await openBundleModel(bundle, {
    tokenizer, ...(state ? { training: engineName === 'v8' ? 'v8' : 'reference-int' } : {}), threads,
    say: (m) => process.stderr.write(`edgeq run: ${m}\n`),
  });
  if (state) await model.applyAdapterState(state);
  return { model, engineName: state ? `${engineName} + adapter` : engineName };
}

/** Writes to stdout; false once the reader went away (| head), so generation stops quietly. */
// A closed pipe (EPIPE) stays closed, so one listener for the process is enough: one per
// run would pile up when `run` is called in-process many times (Node warns past 10).
let stdoutClosed = false;
let stdoutWatched = false;

function stdoutWriter(): (b: Uint8Array) => boolean {
  // Writes to a pipe are synchronous on Linux, so each piece is out before the next step.
  if (!stdoutWatched) {
    stdoutWatched = true;
    process.stdout.on('error', (e: NodeJS.ErrnoException) => { if (e.code === 'EPIPE') stdoutClosed = true; else throw e; });
  }
  return (b) => {
    if (b.length > 0 && !stdoutClosed) process.stdout.write(b);
    stdoutClosed ||= process.stdout.errored !== null;
    return !stdoutClosed;
  };
}

/** A prompt that fills the positions leaves nothing to generate: say so rather than print nothing new. */
function warnPromptCut(promptTokens: number, steps: number, seqLen: number, opts: RunOptions): void {
  if (opts.prompt && promptTokens >= steps) {
    process.stderr.write(`edgeq run: warning: the prompt is ${promptTokens} tokens (with BOS) but only ${steps} positions run ` +
      `(${steps === seqLen ? `the model's context, seq_len ${steps}` : `--positions ${opts.positions}`}): it is cut to ${steps} and no new token is generated\n`);
  }
}

const tokPerSecond = (tps: number | null, engineName: string, positions: number) => {
  if (tps !== null) process.stderr.write(`achieved tok/s: ${tps.toFixed(2)} (engine ${engineName}, ${positions} positions)\n`);
};

/**
 * --engine wasm2c: the generation loop runs in the Linux host (compiler/engines/native-run.ts),
 * which prints token ids; the text is made here with the tokenizer and printedBytes(), as
 * pieces() makes it for V8, so both print the same bytes.
 */
async function nativeRun(dir: string, opts: RunOptions, write: (b: Uint8Array) => boolean): Promise<void> {
  const bundle = openBundle(dir);
  const tokenizer = bundleTokenizer(bundle, opts.tokenizer);
  const threads = opts.threads ?? defaultThreads(bundle.artifactBytes.length, bundle.artifact.target.name);
  const seqLen = bundle.artifact.config.seqLen;
  const steps = clampSteps(opts.positions, seqLen);
  const prompt = tokenizer.encode(opts.prompt ?? '', { bos: true });
  warnPromptCut(prompt.length, steps, seqLen, opts);
  // BOS ends a text; EOS too for vocabularies other than llama2.c's (pieces() in generate.ts).
  const stops = [tokenizer.bosId, ...(tokenizer.kind !== 'llama2c' ? [tokenizer.eosId] : [])].filter((id) => id >= 0);
  let prev = prompt[0];
  let start: number | null = null;
  const { positions, arch } = await nativeGenerate(bundle, {
    threads, promptTokens: prompt.slice(0, steps + 1), steps, temperature: opts.temperature, topp: opts.topp, seed: opts.seed, stops,
    say: (m) => process.stderr.write(`edgeq run: ${m}\n`),
    onToken: (t) => {
      start ??= performance.now();
      const ok = write(printedBytes(tokenizer, prev, t));
      prev = t;
      return ok;
    },
  });
  write(Buffer.from('\n'));
  const elapsed = start === null ? 0 : performance.now() - start;
  const name = `wasm2c-${arch.name}${arch.emulator ? ` under ${arch.emulator}` : ''}${threads > 1 ? `, ${threads} threads` : ''}`;
  tokPerSecond(positions > 1 && elapsed > 0 ? ((positions - 1) / elapsed) * 1000 : null, name, positions);
}

async function run(modelPath: string, opts: RunOptions): Promise<void> {
  // The integer sampler's limits apply to every engine, the float reference included, so a
  // value means the same thing everywhere (docs/integer-spec.md §3.12).
  const badSampler = samplerProblem(opts.temperature, opts.topp);
  if (badSampler) throw usageError(badSampler);
  const isBundle = isBundleDir(modelPath);
  if (opts.trust !== undefined) {
    if (!isBundle) throw usageError(`--trust checks a signed bundle directory; ${modelPath} is not one`);
    checkTrust(modelPath, opts.trust);
  }
  if (opts.adapter !== undefined && !isBundle) throw usageError(`--adapter applies to a bundle directory (from edgeq compile); ${modelPath} is not one`);
  if ((opts.threads ?? 1) > 1 && (!isBundle || opts.adapter !== undefined)) {
    throw usageError(`--threads ${opts.threads}: several threads run a bundle's runtime in V8 or wasm2c (${isBundle ? '--adapter runs the training module on one thread' : `${modelPath} is a checkpoint: the reference engines run one thread`})`);
  }
  if (opts.engine === 'wasm2c' && opts.adapter !== undefined) throw usageError('--adapter runs on --engine v8 or reference-int, not wasm2c');
  const write = stdoutWriter();
  if (isBundle && opts.engine === 'wasm2c') return nativeRun(modelPath, opts, write);
  if (isBundle) {
    const { model, engineName } = await bundleModel(modelPath, opts);
    try {
      warnPromptCut(model.tokenize(opts.prompt ?? '').length, clampSteps(opts.positions, model.info.seqLen), model.info.seqLen, opts);
      const g = model.generate(opts.prompt ?? '', { positions: opts.positions, temperature: opts.temperature, topP: opts.topp, seed: opts.seed });
      for await (const t of g) if (!write(t.bytes)) break;
      write(Buffer.from('\n'));
      tokPerSecond(g.stats.tokensPerSecond, model.info.threads > 1 ? `${engineName}, ${model.info.threads} threads` : engineName, g.stats.positions);
    } finally {
      await model.close(); // ends the worker threads of --threads N
    }
    return;
  }
  const { loaded, tokenizer, engineName } = checkpointEngine(modelPath, opts);
  const engine = loaded.engine;
  const sampler = loaded.picker(opts);
  warnPromptCut(tokenizer.encode(opts.prompt ?? '', { bos: true }).length, clampSteps(opts.positions, engine.config.seqLen), engine.config.seqLen, opts);
  const result = generate(engine, tokenizer, sampler, { prompt: opts.prompt ?? '', steps: opts.positions, onPiece: write });
  write(Buffer.from('\n'));
  tokPerSecond(result.tokensPerSecond, engineName, result.positions);
}
