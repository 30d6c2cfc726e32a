// `edgeq plan`: write a precision plan file for a checkpoint (EWQ: per-block bits from weight
// entropy, optionally fitted to a byte budget; or uniform), for `edgeq compile --plan <file>`.
import type { Command } from 'commander';
import { statSync } from 'node:fs';
import { basename } from 'node:path';
import { importLlama2c } from '../../import/llama2c.ts';
import { Tokenizer } from '../../import/tokenizer.ts';
import { loadTarget } from '../../target/profile.ts';
import { EdgeqError, usageError } from '../../util/errors.ts';
import { writeFileAtomic } from '../../util/atomic-write.ts';
import { floatOption, intOption } from '../options.ts';
import { parsePlan } from '../../plan/plan.ts';
import { planReportHtml } from '../../plan/report.ts';
import { planFastEwq } from '../../plan/fastewq.ts';
import { DEFAULT_EWQ_K, ewqPlanJson, parseBitsList, planEwq, tokenizerBytesBound, type EwqPlan } from '../../plan/ewq.ts';

interface Opts {
  method: string; k: number; bits: string; groupSize: number; budgetBytes?: number; target?: string;
  vectors: number; tokenizer?: string; output: string; json?: boolean; report?: string;
}

export function register(program: Command): void {
  program
    .command('plan')
    .description('write a precision plan for a checkpoint: EWQ (per-block bits from the entropy of its weights, optionally fitted to a byte budget) or uniform')
    .argument('<checkpoint>', 'llama2.c model file (.bin)')
    .option('--method <m>', 'ewq, fastewq (EWQ decisions predicted from the configuration by a shipped decision tree; no weights read), or uniform:<bits>[g<G>] (the plan file of a uniform plan, with the entropies)', 'ewq')
    .option('--k <k>', 'EWQ threshold: blocks below mean−k·std of the block entropies get the lowest of --bits, above mean+k·std the highest', floatOption('--k', 0, 100), DEFAULT_EWQ_K)
    .option('--bits <list>', 'candidate bits, e.g. 8,4,2 (from 8, 4, 3, 2, 1)', '8,4,2')
    .option('--group-size <G>', 'group size of low-bit matrices (32, 64, 128)', intOption('--group-size', 32, 128), 64)
    .option('--budget-bytes <n>', 'fit model.edgeq into n bytes: blocks are lowered in ascending entropy order until it fits', intOption('--budget-bytes', 1))
    .option('--target <name>', "budget = the target profile's flashBytes (targets/<name>.json)")
    .option('--vectors <n>', 'conformance positions the compile will embed (counted in the size; edgeq compile default 32)', intOption('--vectors', 0, 4096), 32)
    .option('--tokenizer <path>', 'the tokenizer the compile will embed (counted in the size)')
    .requiredOption('-o, --output <plan.json>', 'plan file to write (atomically)')
    .option('--json', 'print the plan summary as JSON on stdout')
    .option('--report <plan.html>', 'also write a self-contained HTML report (SVG chart of entropy, bits, bytes per block and size vs budget; the plan table)')
    .addHelpText('after', `
Entropy of a matrix: Shannon entropy (nats) of the softmax of its flattened weights; of a block:
the parameter-weighted mean over its 7 matrices. Sizes are estimates (an upper bound) of the
model.edgeq that edgeq compile writes with the plan; the embedding and classifier stay int8.

Examples:
  $ edgeq plan ../shared/models/stories260K.bin -o ewq.json
  $ edgeq plan model.bin --bits 8,4,2 --k 0.5 --budget-bytes 250000 -o fit.json
  $ edgeq plan model.bin --target cortex-m -o fit.json && edgeq compile model.bin --target cortex-m --plan fit.json -o out/m
`)
    .action((checkpoint: string, opts: Opts) => plan(checkpoint, opts));
}

const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;

function plan(checkpoint: string, opts: Opts): void {
  if (opts.budgetBytes !== undefined && opts.target !== undefined) throw usageError('give --budget-bytes or --target, not both');
  let budgetBytes = opts.budgetBytes, budgetName = budgetBytes !== undefined ? `--budget-bytes ${budgetBytes}` : undefined;
  if (opts.target !== undefined) {
    const t = loadTarget(opts.target);
    if (t.flashBytes === null) throw usageError(`target ${t.name} has no flash budget (flashBytes is null); use --budget-bytes`);
    budgetBytes = t.flashBytes; budgetName = `target ${t.name} (flashBytes ${t.flashBytes})`;
  }
  const g = importLlama2c(checkpoint);
  let tokenizerBytes: number | undefined;
  if (opts.tokenizer !== undefined) {
    const tok = Tokenizer.load(opts.tokenizer);
    tokenizerBytes = tokenizerBytesBound(statSync(opts.tokenizer).size, tok.vocabSize);
  }
  let p: EwqPlan;
  const common = { k: opts.k, groupSize: opts.groupSize, vectors: opts.vectors, tokenizerBytes };
  if (opts.method === 'ewq') {
    p = planEwq(g, { ...common, bits: parseBitsList(opts.bits), budgetBytes, budgetName });
  } else if (opts.method === 'fastewq') {
    if (budgetBytes !== undefined) throw usageError('--method fastewq has no budget fitting; use --method ewq with --budget-bytes/--target');
    p = planFastEwq(g.config, { ...common, bits: parseBitsList(opts.bits) });
  } else if (opts.method.startsWith('uniform:')) {
    const u = parsePlan(opts.method);
    p = planEwq(g, { ...common, bits: [u.bits], groupSize: u.groupSize || opts.groupSize });
    p.method = `${u.name ?? opts.method}`;
    p.blocks = p.blocks.map((b) => ({ ...b, rule: `uniform: ${b.bits} bits` }));
    if (budgetBytes !== undefined) {
      p.budgetBytes = budgetBytes;
      if (p.totalBytes > budgetBytes) throw new EdgeqError(`plan ${opts.method} does not fit ${budgetName}: it needs ${p.totalBytes} bytes, budget ${budgetBytes} bytes`);
    }
  } else {
    throw usageError(`--method must be ewq, fastewq or uniform:<bits>[g<G>], got "${opts.method}"`);
  }
  const json = ewqPlanJson(p);
  writeFileAtomic(opts.output, JSON.stringify(json, null, 2) + '\n');
  if (opts.report !== undefined) writeFileAtomic(opts.report, planReportHtml(p, { title: basename(checkpoint) }));
  if (opts.json) {
    process.stdout.write(JSON.stringify({
      plan: opts.output, method: p.method, mean: p.mean, std: p.std, totalBytes: p.totalBytes, budgetBytes: p.budgetBytes ?? null,
      fixedBytes: p.fixedBytes, overheadBytes: p.overheadBytes,
      blocks: p.blocks.map((b) => ({ block: b.block, entropy: b.entropy, bits: b.bits, bytes: b.bytes, rule: b.rule })),
    }, null, 2) + '\n');
    return;
  }
  const lines = [
    `${checkpoint}: ${g.config.nLayers} blocks, ${p.method}`,
    Number.isFinite(p.mean) ? `block entropy (nats): mean ${p.mean.toFixed(4)}, std ${p.std.toFixed(4)}` : 'no weights read (FastEWQ: decisions from the configuration)',
    '',
    'block  entropy   bits       bytes  rule',
    ...p.blocks.map((b) => `${String(b.block).padStart(5)}  ${(Number.isFinite(b.entropy) ? b.entropy.toFixed(4) : '—').padStart(7)}  ${String(b.bits).padStart(5)}  ${String(b.bytes).padStart(10)}  ${b.rule}`),
    '',
    `blocks ${p.blocks.reduce((s, b) => s + b.bytes, 0)} + embedding/classifier/tables${tokenizerBytes ? '/tokenizer' : ''} ${p.fixedBytes} + format overhead (bound) ${p.overheadBytes}`,
    `model.edgeq estimate ${p.totalBytes} bytes (${kib(p.totalBytes)})` +
      (p.budgetBytes !== undefined ? ` vs budget ${p.budgetBytes} bytes (${kib(p.budgetBytes)}${budgetName?.startsWith('target') ? `, ${budgetName}` : ''}): fits, ${p.budgetBytes - p.totalBytes} bytes spare` : ''),
    `wrote ${opts.output}${opts.report !== undefined ? ` and ${opts.report}` : ''}`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
}
