// `edgeq eval`: how far a compiled bundle is from the float model it came from, measured
// teacher-forced on real text: top-1 agreement, KL(float || bundle) and perplexities.
import type { Command } from 'commander';
import { basename } from 'node:path';
import { openModel } from '../../import/open-model.ts';
import { loadWeights } from '../../import/graph.ts';
import { FloatTransformer } from '../../reference/float/forward.ts';
import { bundleTokenizer, openBundle } from '../../engines/bundle.ts';
import { finiteLogits, teacherForced, type WindowEngine } from '../../eval/teacher-forced.ts';
import { openBundleModel } from '../../api/node.ts';
import type { ModelInternals } from '../../api/index.ts';
import { encodeParagraphs, readUtf8 } from '../../eval/text-stream.ts';
import { EdgeqError } from '../../util/errors.ts';
import { readAdapterForBundle } from '../../emit/adapter.ts';
import { LOGIT_FRAC } from '../../../runtime/kernels/reference/constants.ts';
import { intOption } from '../options.ts';
import { countReporter } from '../progress.ts';

interface EvalOptions { reference: string; text: string; tokenizer?: string; tokens: number; json?: boolean; adapter?: string }

/**
 * The bundle (with its adapter, if applied) as the test engine, through the JavaScript API's
 * model: each window is one evaluate() call, its Q16 logits as floats (value / 2^LOGIT_FRAC).
 */
function modelWindows(model: ModelInternals): WindowEngine {
  const scale = 2 ** -LOGIT_FRAC;
  let out = new Float64Array(0);
  return {
    window(tokens, each) {
      model.evaluate(tokens, {
        onLogits: (l, pos) => {
          if (out.length !== l.length) out = new Float64Array(l.length);
          for (let i = 0; i < l.length; i++) out[i] = l[i] * scale;
          each(out, pos);
        },
      });
    },
  };
}

export function register(program: Command): void {
  program
    .command('eval')
    .description(
      'Measure a compiled bundle against the float reference of the checkpoint it came from, teacher-forced over ' +
      'a text: the text is encoded paragraph by paragraph and cut into windows of the model\'s seq len, each ' +
      'starting at position 0 with BOS; every token is predicted once by both engines.')
    .argument('<bundle>', 'bundle directory written by `edgeq compile`')
    .requiredOption('--reference <checkpoint>', 'the llama2.c checkpoint the bundle was compiled from (float reference)')
    .requiredOption('--text <file>', 'UTF-8 text to evaluate on (paragraphs separated by blank lines)')
    .option('--tokenizer <tok.bin>', 'llama2.c tokenizer (default: the one embedded in the bundle)')
    .option('--tokens <n>', 'number of text tokens to predict', intOption('--tokens', 1, 10_000_000), 20_000)
    .option('--json', 'print one JSON object: top1, kl, ppl_ref, ppl, tokens (and details)')
    .option('--adapter <file.edqa>', 'measure the bundle with this LoRA adapter (edgeq finetune) applied, in V8; it must have been trained on this bundle\'s model.edgeq')
    .addHelpText('after', '\nExamples:\n  edgeq eval out/s260 --reference ../shared/models/stories260K.bin \\\n' +
      '    --text ../shared/models/tinystories-valid-head.txt --tokens 20000 --json\n' +
      '  edgeq eval out/s260 --adapter out/style.edqa --reference ../shared/models/stories260K.bin --text style-heldout.txt')
    .action(async (dir: string, opts: EvalOptions) => {
      const bundle = openBundle(dir);
      const graph = openModel(opts.reference);
      const c = bundle.artifact.config, r = graph.config;
      if (c.dim !== r.dim || c.nLayers !== r.nLayers || c.vocabSize !== r.vocabSize || c.hiddenDim !== r.hiddenDim) {
        throw new EdgeqError(`--reference does not match the bundle (bundle: dim ${c.dim}, layers ${c.nLayers}, vocab ${c.vocabSize}; ` +
          `checkpoint: dim ${r.dim}, layers ${r.nLayers}, vocab ${r.vocabSize})`, { file: opts.reference });
      }
      // Read and check the adapter before anything slow.
      const adapter = opts.adapter !== undefined ? readAdapterForBundle(opts.adapter, bundle) : undefined;
      const tok = bundleTokenizer(bundle, opts.tokenizer);
      const stream = encodeParagraphs(tok, readUtf8(opts.text), opts.tokens).tokens;
      if (stream.length === 0) throw new EdgeqError('no text to evaluate (empty, or nothing the tokenizer can encode)', { file: opts.text });
      const model = await openBundleModel(bundle, { tokenizer: tok, ...(adapter ? { training: 'v8' as const } : {}), say: (m) => process.stderr.write(`edgeq eval: ${m}\n`) });
      if (adapter) await model.applyAdapterState(adapter);
      const test = modelWindows(model);
      const progress = countReporter('eval', 'tokens');
      const t0 = performance.now();
      const ref = finiteLogits(new FloatTransformer(loadWeights(graph), { accumulate: 'float64' }), opts.reference, 'the float reference');
      const m = teacherForced(stream, ref, test, {
        seqLen: c.seqLen, onProgress: (done) => progress.update(done, stream.length),
      });
      progress.done();
      const seconds = (performance.now() - t0) / 1000;
      if (opts.json) {
        process.stdout.write(JSON.stringify({
          top1: m.top1Agreement, kl: m.meanKL, ppl_ref: m.pplRef, ppl: m.pplTest, tokens: m.tokens,
          kl_max: m.maxKL, bundle: dir, ...(opts.adapter !== undefined ? { adapter: opts.adapter } : {}), reference: opts.reference, text: opts.text, seconds,
        }) + '\n');
        return;
      }
      process.stdout.write(
        `bundle ${dir}${opts.adapter !== undefined ? ` + adapter ${basename(opts.adapter)}` : ''} vs float reference ${basename(opts.reference)}, ${m.tokens} tokens of ${basename(opts.text)}\n` +
        `top-1 agreement  ${(100 * m.top1Agreement).toFixed(2)}%\n` +
        `mean KL          ${m.meanKL.toFixed(6)} nats (max ${m.maxKL.toFixed(4)})\n` +
        `perplexity       float ${m.pplRef.toFixed(4)}, bundle ${m.pplTest.toFixed(4)}\n`);
    });
}
