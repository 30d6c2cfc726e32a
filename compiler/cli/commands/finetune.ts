// `edgeq finetune`: train a LoRA adapter for a bundle's int8 model on a text, with the
// integer-only trainer (docs/integer-spec.md §13), and save it as an adapter file
// (schemas/adapter.fbs) that `edgeq run/eval --adapter` apply. Every input is checked
// before training starts (so a bad flag costs nothing and leaves nothing behind); the
// adapter is saved atomically at the end, every --save-every steps, and after the current
// step on Ctrl-C, so an interrupted or killed run continues with --resume.
import type { Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { bundleTokenizer, openBundle } from '../../engines/bundle.ts';
import { readAdapterForBundle, writeAdapter } from '../../emit/adapter.ts';
import { heldOutWindows, loadTokenStream, trainingWindows, windowCount } from '../../train/data.ts';
import { openBundleModel } from '../../api/node.ts';
import { FINETUNE_DEFAULTS, type AdapterState, type TrainConfig } from '../../train/trainer.ts';
import { firstLast, lossReportHtml, runningMean } from '../../train/report.ts';
import { writeFileAtomic } from '../../util/atomic-write.ts';
import { EdgeqError, usageError } from '../../util/errors.ts';
import { choiceOption, floatOption, intOption } from '../options.ts';
import { bundleInputs, checkOutputFile } from '../paths.ts';
import { engineOption, type EngineName } from '../../engines/names.ts';
import { checkInputFile } from '../../util/input-file.ts';

const RANKS = ['4', '8', '16', '32'] as const;
/** What trains: the training module in V8, or the TypeScript integer reference (same bytes). */
type TrainEngine = 'reference' | 'v8';
const DEFAULTS = FINETUNE_DEFAULTS;
/** Held-out windows evaluated before and after training (--held-out). */
const HELD_OUT_WINDOWS = 64;

interface FinetuneOptions {
  data: string; tokenizer?: string; steps: number; rank?: string; lr?: number; seqLen?: number; seed?: number;
  output: string; resume?: boolean; saveEvery: number; engine: TrainEngine; heldOut?: string; json?: boolean; report?: string;
}

export function register(program: Command): void {
  program
    .command('finetune')
    .description(
      'Train a LoRA adapter (on wq and wv of every block) for a bundle\'s int8 model on a UTF-8 text, integers only, ' +
      'and save it as an adapter file (.edqa) that edgeq run/eval --adapter apply. Each step reads a window of ' +
      '--seq-len + 1 tokens of the text (paragraphs = documents, each starting with BOS) and takes one SGD-with-momentum ' +
      'step on the mean next-token loss over its --seq-len positions.')
    .argument('<bundle>', 'bundle directory written by `edgeq compile` (int8 plan)')
    .requiredOption('--data <text>', 'UTF-8 text to train on (paragraphs separated by blank lines)')
    .option('--tokenizer <tok.bin>', 'llama2.c tokenizer (default: the one embedded in the bundle)')
    .requiredOption('--steps <n>', 'optimizer steps in total (a resumed run continues up to this count)', intOption('--steps', 1, 10_000_000))
    .option('--rank <r>', `LoRA rank: ${RANKS.join(', ')} (default ${DEFAULTS.rank})`, choiceOption('--rank', RANKS))
    .option('--lr <x>', `learning rate (default ${DEFAULTS.lr})`, floatOption('--lr', Number.MIN_VALUE, 1e6))
    .option('--seq-len <L>', `positions per step (default ${DEFAULTS.seqLen}, at most the model's seq_len)`, intOption('--seq-len', 1, 1 << 20))
    .option('--seed <s>', `seed of the adapter's initial A, the window order and the rounding stream (default ${DEFAULTS.seed})`, intOption('--seed', 0, 0xffffffff))
    .requiredOption('-o, --output <adapter.edqa>', 'adapter file to write (replaced atomically at each save)')
    .option('--resume', 'continue the adapter at -o: its step, rng and momentum; windows continue from its step')
    .option('--save-every <n>', 'also save every n steps (0 = only at the end and on Ctrl-C)', intOption('--save-every', 0, 100_000_000), 0)
    .option('--engine <name>', `what trains: v8 (the generated training runtime in V8, the default) or reference-int (the TypeScript integer reference, same bytes, ~7x slower); the old name reference still works`,
      (v: string) => trainEngineOf(engineOption('finetune', FINETUNE_ENGINES)(v)), 'v8')
    .option('--held-out <text>', `also measure the mean loss on the first ${HELD_OUT_WINDOWS} windows of this text before and after training`)
    .option('--json', 'print one JSON object: steps, loss (per step), heldOut, peakBytes, seconds')
    .option('--report <loss.html>', 'also write a self-contained HTML page with the loss curve (SVG)')
    .addHelpText('after', `
Progress (step, running loss, ETA) goes to stderr. Ctrl-C stops after the current step and
saves; continue with the same command plus --resume. Exit codes: 0 done, 1 bad input or
failed training, 2 bad flags, 130 interrupted (adapter saved).

Examples:
  $ edgeq compile ../shared/models/stories260K.bin --target wasm32 --tokenizer ../shared/models/tok512.bin -o out/s260k
  $ edgeq finetune out/s260k --data style.txt --steps 300 --rank 8 --lr 0.02 -o out/style.edqa --report out/loss.html
  $ edgeq finetune out/s260k --data style.txt --steps 400 -o out/style.edqa --resume      # 100 more steps
  $ edgeq run out/s260k --adapter out/style.edqa --temperature 0 --steps 64
  $ edgeq eval out/s260k --adapter out/style.edqa --reference ../shared/models/stories260K.bin --text style-heldout.txt
`)
    .action((dir: string, opts: FinetuneOptions, cmd: Command) => finetune(dir, opts, cmd));
}

/** finetune's engines in the shared vocabulary (compiler/engines/names.ts) → the trainer's names. */
const FINETUNE_ENGINES = ['v8', 'reference-int'] as const;
const trainEngineOf = (e: EngineName): TrainEngine => (e === 'reference-int' ? 'reference' : 'v8');

function requireFile(path: string, flag: string, what: string): void {
  if (!existsSync(path)) throw new EdgeqError(`no such file (${flag}: ${what})`, { file: path });
  checkInputFile(path, `${what} (${flag})`, { maxBytes: 1 << 30 }); // a directory, FIFO or device: refused now
}

/** The run's settings: flags, or on --resume the adapter's (a flag that disagrees is an error). */
function settings(opts: FinetuneOptions, cmd: Command, resume: AdapterState | undefined, modelSeqLen: number): TrainConfig {
  const given = (name: string) => cmd.getOptionValueSource(name) === 'cli';
  const rank = opts.rank !== undefined ? Number(opts.rank) : undefined;
  if (resume) {
    const pairs: Array<[string, string, number | undefined, number]> = [
      ['rank', '--rank', rank, resume.rank], ['lr', '--lr', opts.lr, resume.lr],
      ['seqLen', '--seq-len', opts.seqLen, resume.seqLen], ['seed', '--seed', opts.seed, resume.seed],
    ];
    for (const [name, flag, v, have] of pairs) {
      if (given(name) && v !== have) {
        throw usageError(`${flag} ${v} differs from the adapter being resumed (${flag} ${have}): a resumed run keeps its settings (drop ${flag}, or train a new adapter without --resume)`);
      }
    }
    return { rank: resume.rank, lr: resume.lr, seqLen: resume.seqLen, seed: resume.seed };
  }
  const seqLen = opts.seqLen ?? Math.min(DEFAULTS.seqLen, modelSeqLen);
  if (seqLen > modelSeqLen) throw usageError(`--seq-len ${seqLen} is longer than the model's context (seq_len ${modelSeqLen})`);
  return { rank: rank ?? DEFAULTS.rank, lr: opts.lr ?? DEFAULTS.lr, seqLen, seed: opts.seed ?? DEFAULTS.seed };
}

async function finetune(dir: string, opts: FinetuneOptions, cmd: Command): Promise<void> {
  // 1. Check everything before training: paths first (outputs never over the bundle, the
  // texts or the tokenizer), then the contents.
  const inputs = [...bundleInputs(dir), opts.data, opts.heldOut, opts.tokenizer].filter((x): x is string => x !== undefined);
  checkOutputFile(opts.output, '-o', inputs);
  if (opts.report !== undefined) checkOutputFile(opts.report, '--report', [...inputs, opts.output]);
  requireFile(opts.data, '--data', 'the text to train on');
  if (opts.heldOut !== undefined) requireFile(opts.heldOut, '--held-out', 'the held-out text');
  const bundle = openBundle(dir);
  // A low-bit base is refused now, not after reading the text (loaded lazily: it brings the compiler).
  (await import('../../codegen/train-runtime.ts')).trainBaseIndices(bundle.artifact);
  let resume: AdapterState | undefined;
  if (opts.resume) {
    if (!existsSync(opts.output)) throw new EdgeqError('--resume: no adapter to continue (run once without --resume first)', { file: opts.output });
    resume = readAdapterForBundle(opts.output, bundle);
  }
  const config = settings(opts, cmd, resume, bundle.artifact.config.seqLen);
  const tok = bundleTokenizer(bundle, opts.tokenizer);
  const stream = loadTokenStream(tok, opts.data);
  const windows = trainingWindows(stream, config.seqLen, opts.steps, config.seed); // refuses a text that is too short
  const held = opts.heldOut !== undefined ? heldOutWindows(loadTokenStream(tok, opts.heldOut), config.seqLen, HELD_OUT_WINDOWS) : undefined;
  const start = resume?.step ?? 0;
  if (start >= opts.steps) {
    throw usageError(`--steps ${opts.steps}: the adapter at ${opts.output} has already done ${start} steps; pass a larger --steps to continue`);
  }

  // 2. Train: the trainer of the JavaScript API's model (what a page fine-tunes with).
  const model = await openBundleModel(bundle, {
    tokenizer: tok, training: opts.engine === 'reference' ? 'reference-int' : 'v8', say: (m) => process.stderr.write(`edgeq finetune: ${m}\n`),
  });
  const trainer = await model.trainer(config, resume);
  const meanLoss = (ws: Int32Array[]) => ws.reduce((s, w) => s + trainer.loss(w), 0) / ws.length;
  const heldBefore = held ? meanLoss(held) : undefined;
  const save = () => writeAdapter(opts.output, trainer.state());
  let interrupted = false;
  const onSigint = () => {
    if (interrupted) process.exit(130); // a second Ctrl-C: stop now, without saving
    interrupted = true;
    process.stderr.write('\nedgeq finetune: stopping after this step and saving (Ctrl-C again to quit without saving)\n');
  };
  process.on('SIGINT', onSigint);
  const losses: number[] = [];
  const progress = stepProgress(start, opts.steps);
  const t0 = performance.now();
  try {
    for (let step = start; step < opts.steps && !interrupted; step++) {
      losses.push(trainer.step(windows[step]));
      progress.update(step + 1, runningMean(losses, losses.length - 1));
      if (opts.saveEvery > 0 && (step + 1) % opts.saveEvery === 0 && step + 1 < opts.steps) save();
      await new Promise((r) => setImmediate(r)); // let a Ctrl-C in between steps
    }
    progress.done();
    save();
  } finally {
    process.off('SIGINT', onSigint);
  }
  const seconds = (performance.now() - t0) / 1000;
  const done = start + losses.length;
  if (interrupted) {
    throw new EdgeqError(`interrupted after step ${done} of ${opts.steps}: saved ${opts.output} (continue with --resume)`, {}, 130);
  }

  // 3. Report.
  const heldOut = held ? { before: heldBefore!, after: meanLoss(held), windows: held.length } : undefined;
  if (opts.report !== undefined) {
    writeFileAtomic(opts.report, lossReportHtml({
      title: basename(dir.replace(/\/+$/, '')),
      settings: [
        ['bundle', basename(dir.replace(/\/+$/, ''))], ['data', basename(opts.data)], ['steps', `${start + 1}–${done}`],
        ['rank', String(config.rank)], ['lr', String(config.lr)], ['seq len', String(config.seqLen)], ['seed', String(config.seed)],
        ['engine', opts.engine === 'reference' ? 'reference-int' : opts.engine], ['windows in the text', String(windowCount(stream, config.seqLen))],
      ],
      startStep: start, losses, ...(heldOut ? { heldOut } : {}),
    }));
  }
  const peakBytes = trainer.peakBytes();
  if (opts.json) {
    process.stdout.write(JSON.stringify({ steps: done, loss: losses, ...(heldOut ? { heldOut } : {}), peakBytes, seconds, adapter: opts.output }) + '\n');
    return;
  }
  const fl = firstLast(losses);
  process.stdout.write(
    `finetuned ${dir} on ${basename(opts.data)}: steps ${start + 1}–${done}, rank ${config.rank}, lr ${config.lr}, seq len ${config.seqLen}\n` +
    `loss             ${fl.first.toFixed(4)} → ${fl.last.toFixed(4)} nats (mean of the first and the last ${fl.k} steps)\n` +
    (heldOut ? `held-out loss    ${heldOut.before.toFixed(4)} → ${heldOut.after.toFixed(4)} nats (${heldOut.windows} windows)\n` : '') +
    `peak memory      ${peakBytes} bytes; ${seconds.toFixed(1)} s (${(losses.length / seconds).toFixed(2)} steps/s)\n` +
    `wrote ${opts.output}${opts.report !== undefined ? ` and ${opts.report}` : ''}\n`);
}

/** Progress on stderr: one line rewritten on a terminal, a line every 10% otherwise. */
function stepProgress(start: number, total: number): { update(step: number, loss: number): void; done(): void } {
  const tty = process.stderr.isTTY;
  const t0 = performance.now();
  let lastTenth = -1, active = false;
  const eta = (s: number) => (s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.round(s)}s`);
  return {
    update(step, loss) {
      const tenth = Math.floor((10 * (step - start)) / (total - start));
      if (!tty && tenth === lastTenth) return;
      lastTenth = tenth;
      active = true;
      const perStep = (performance.now() - t0) / 1000 / (step - start);
      const line = `finetune: step ${step}/${total} (${Math.floor((100 * step) / total)}%)  loss ${loss.toFixed(4)}  ETA ${eta(perStep * (total - step))}`;
      process.stderr.write(tty ? `\r${line}\x1b[K` : `${line}\n`);
    },
    done() { if (active && tty) process.stderr.write('\n'); },
  };
}
