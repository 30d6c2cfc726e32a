// `edgeq run`: generate text with a model, printing it the way llama2.c's `run` does, so
// any engine can be checked against llama2.c (and against each other) by eye or by diff.
import type { Command } from 'commander';
import { importLlama2c } from '../../import/llama2c.ts';
import { loadWeights, type Graph } from '../../import/graph.ts';
import { Tokenizer } from '../../import/tokenizer.ts';
import { FloatTransformer } from '../../reference/float/forward.ts';
import { DEFAULT_SEED, Sampler } from '../../reference/float/sampler.ts';
import { generate, type Engine } from '../../generate.ts';
import { EdgeqError, usageError } from '../../util/errors.ts';
import { floatOption, intOption } from '../options.ts';

/** Engines `run` can drive, by --engine name. Later: int-reference, wasm. */
const ENGINES: Record<string, { about: string; load: (model: Graph) => Engine }> = {
  reference: {
    about: 'float32 TypeScript reference (llama2.c forward pass)',
    load: (model) => new FloatTransformer(loadWeights(model)),
  },
};

function engineOption(value: string): string {
  if (!Object.hasOwn(ENGINES, value)) {
    throw usageError(`--engine: unknown engine "${value}"; known engines: ${Object.keys(ENGINES).join(', ')}`);
  }
  return value;
}

interface RunOptions {
  tokenizer: string; engine: string; prompt?: string;
  steps: number; temperature: number; topp: number; seed: number;
}

export function register(program: Command): void {
  program
    .command('run')
    .description('generate text from a llama2.c checkpoint, printed as llama2.c prints it')
    .argument('<checkpoint>', 'llama2.c model file (.bin)')
    .requiredOption('--tokenizer <path>', 'llama2.c tokenizer file; its vocabulary must match the model')
    .option('--engine <name>', `what runs the model: ${Object.entries(ENGINES).map(([k, e]) => `${k} (${e.about})`).join(', ')}`, engineOption, 'reference')
    .option('--prompt <text>', 'text to continue (default: none, the model starts the story)')
    .option('--steps <n>', 'positions to run, prompt included; 0 = the model\'s whole context (clamped to it)', intOption('--steps', 0), 256)
    .option('--temperature <t>', '0 = greedy (argmax); higher = more random', floatOption('--temperature', 0), 1.0)
    .option('--topp <p>', 'top-p (nucleus) sampling mass; 0 or 1 = sample from everything', floatOption('--topp', 0, 1), 0.9)
    .option('--seed <n>', `random seed; the same seed gives the same text (llama2.c uses the clock, we default to ${DEFAULT_SEED} for reproducible runs)`,
      intOption('--seed', 1, Number.MAX_SAFE_INTEGER), Number(DEFAULT_SEED))
    .addHelpText('after', `
The text goes to stdout as it is generated; the speed (achieved tok/s) goes to stderr.
Generation stops after --steps positions or when the model emits BOS (end of story).

Examples:
  $ edgeq run ../shared/models/stories260K.bin --tokenizer ../shared/models/tok512.bin --temperature 0
  $ edgeq run model.bin --tokenizer tok.bin --prompt "Once upon a time" --seed 7 --steps 100
`)
    .action((checkpoint: string, opts: RunOptions) => run(checkpoint, opts));
}

function run(checkpoint: string, opts: RunOptions): void {
  const tokenizer = Tokenizer.load(opts.tokenizer);
  // The graph reads only the header; check the vocabularies before loading any weights.
  const model = importLlama2c(checkpoint);
  const vocab = model.config.vocabSize;
  if (tokenizer.vocabSize !== vocab) {
    throw new EdgeqError(`tokenizer ${opts.tokenizer} has ${tokenizer.vocabSize} tokens but model ${checkpoint} has a vocabulary of ${vocab}`);
  }
  const engine = ENGINES[opts.engine].load(model);
  const sampler = new Sampler({ temperature: opts.temperature, topp: opts.topp, seed: opts.seed });

  // Writes to a pipe are synchronous on Linux, so each piece is out before the next step.
  // If the reader goes away (| head), stop quietly instead of generating into the void.
  let closed = false;
  const onError = (e: NodeJS.ErrnoException) => { if (e.code === 'EPIPE') closed = true; else throw e; };
  process.stdout.on('error', onError);
  const write = (b: Uint8Array): boolean => {
    if (b.length > 0 && !closed) process.stdout.write(b);
    closed ||= process.stdout.errored !== null;
    return !closed;
  };
  const result = generate(engine, tokenizer, sampler, { prompt: opts.prompt ?? '', steps: opts.steps, onPiece: write });
  write(Buffer.from('\n'));
  if (result.tokensPerSecond !== null) {
    process.stderr.write(`achieved tok/s: ${result.tokensPerSecond.toFixed(2)} (engine ${opts.engine}, ${result.positions} positions)\n`);
  }
}
