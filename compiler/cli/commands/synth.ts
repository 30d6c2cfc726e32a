// `edgeq synth`: write a seeded synthetic llama2.c checkpoint of a known shape, for
// speed/scale work and tests where no trained model of that size is at hand.
import type { Command } from 'commander';
import { choiceOption, intOption } from '../options.ts';
import { usageError } from '../../util/errors.ts';
import { SHAPES, SHAPE_NAMES, SYNTH_FORMATS, shapeByName, writeSynth, type SynthFormat } from '../../synth/synth.ts';
import { describeConfig, type Llama2cFormat } from '../../import/llama2c-format.ts';
import { progressReporter } from '../progress.ts';
import { checkOutputFile } from '../paths.ts';
import { resolve } from 'node:path';
import { writeSynthTokenizer } from '../../synth/tokenizer.ts';

interface Opts { shape: string; seed: number; output: string; format: SynthFormat; unshared?: boolean; tokenizer?: string }

const shapeList = SHAPE_NAMES.map((n) => `  ${n.padEnd(14)} ${describeConfig(SHAPES[n])}`).join('\n');

export function register(program: Command): void {
  program
    .command('synth')
    .summary('write a synthetic (seeded random) llama2.c checkpoint of a known shape')
    .description(
      'Write a llama2.c checkpoint whose weights are seeded pseudo-random numbers with the statistics of a trained ' +
      'model (per-layer scales, per-head spread, heavy tails, outlier channels). The same shape, seed and format give ' +
      'the same bytes on every machine. Large shapes are written streaming (stories110M is 440 MB).')
    .requiredOption('--shape <name>', `model shape, one of: ${SHAPE_NAMES.join(', ')}`, (v: string) => {
      if (!shapeByName(v)) throw usageError(`--shape must be one of ${SHAPE_NAMES.join(', ')}, got "${v}"`);
      return v;
    })
    .option('--seed <n>', 'random seed, an integer in [0, 4294967295]; each seed is a different model', intOption('--seed', 0, 0xffffffff), 0)
    .requiredOption('-o, --output <file.bin>', 'checkpoint file to write (replaced atomically)')
    .option('--format <name>', 'v0: legacy llama2.c format (what llama2.c\'s run.c reads); v1: export.py --version 1 (256-byte header); ' +
      'gguf-f32, gguf-f16, gguf-q8_0: a llama GGUF file; hf-f32, hf-bf16: a Hugging Face directory (config.json + model.safetensors) at -o',
      choiceOption('--format', SYNTH_FORMATS), 'v0')
    .option('--unshared', 'give the model a separate classifier matrix (wcls) instead of reusing the token embedding')
    .option('--tokenizer <tok.bin>', 'also write a synthetic tokenizer (llama2.c format) with the shape\'s vocabulary size')
    .addHelpText('after', `\nShapes:\n${shapeList}\n\nExamples:\n` +
      '  edgeq synth --shape stories15M --seed 7 -o /tmp/s15M.bin\n' +
      '  edgeq synth --shape stories260K --format v1 --unshared -o s260K-v1.bin\n' +
      '  edgeq synth --shape smollm2-135M --format gguf-f16 -o /tmp/smollm2.gguf\n' +
      '  edgeq synth --shape tinyllama-1.1B --format hf-bf16 -o /tmp/tinyllama-hf')
    .action((opts: Opts) => {
      const config = { ...shapeByName(opts.shape)!, sharedClassifier: !opts.unshared };
      checkOutputFile(opts.output, '-o', []);
      if (opts.tokenizer !== undefined) checkOutputFile(opts.tokenizer, '--tokenizer', [opts.output]);
      if (opts.tokenizer !== undefined && resolve(opts.tokenizer) === resolve(opts.output)) throw usageError('--tokenizer and -o name the same file');
      const progress = progressReporter(`writing ${opts.output}`);
      const bytes = writeSynth(opts.output, config, opts.seed, { format: opts.format, onProgress: progress.update });
      progress.done();
      process.stdout.write(`wrote ${opts.output}: ${opts.shape}, seed ${opts.seed}, ${opts.format.startsWith('v') ? `llama2.c ${opts.format}` : opts.format}${bytes ? `, ${bytes} bytes` : ''}\n`);
      if (opts.tokenizer) {
        writeSynthTokenizer(opts.tokenizer, config.vocabSize);
        process.stdout.write(`wrote ${opts.tokenizer}: synthetic tokenizer, ${config.vocabSize} tokens\n`);
      }
    });
}
