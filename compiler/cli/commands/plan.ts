// `edgeq plan`: write a precision plan file for a checkpoint (EWQ: per-block bits from weight
// entropy, optionally fitted to a byte budget; FastEWQ; damage: per-block bits from the
// measured ΔKL of lowering each block on calibration text; or uniform), for `edgeq compile
// --plan <file>`. --method damage is plan-only (edgeq compile has no --plan damage): it needs
// the calibration text and runs L + 1 bundles, which a compile should not do implicitly.
import type { Command } from 'commander';
import { basename } from 'node:path';
import { openModel, probeModelPath } from '../../import/open-model.ts';
import { loadTokenizerFile } from '../../import/tokenizers/load.ts';
import { loadTarget } from '../../target/profile.ts';
import { EdgeqError, usageError } from '../../util/errors.ts';
import { writeFileAtomic } from '../../util/atomic-write.ts';
import { checkOutputFile } from '../paths.ts';
import { floatOption, intOption } from '../options.ts';
import { BLOCK_MATRICES, parsePlan } from '../../plan/plan.ts';
import { ALL_GROUP_SIZES, PLAN_BITS } from '../../quantize/formats/registry.ts';
import { planReportHtml } from '../../plan/report.ts';
import { planFastEwq } from '../../plan/fastewq.ts';
import { MIXED_DEFAULT_BITS, SENSITIVITY_TOKENS, label, measureSensitivity, planMixed, scoreMatrices, selfGeneratedStream, type MatrixScores } from '../../plan/mixed.ts';
import { CALIBRATION_LENGTH, CALIBRATION_SEQUENCES, calibrate } from '../../quantize/calibrate.ts';
import { loadWeights } from '../../import/graph.ts';
import { DEFAULT_CALIBRATION_TOKENS, KlMeter, calibrationTokens, damageSteps, measureDamage, planDamage, type DamageMeasure } from '../../plan/damage.ts';
import { DeviceSizer, describeBytes, type DeviceBytes } from '../../plan/budget.ts';
import { exactArtifactBytes } from '../../plan/size.ts';
import { DEFAULT_EWQ_BITS as DEFAULT_BITS, DEFAULT_EWQ_K, ewqPlanJson, parseBitsList, planEwq, planFittedInOrder, shapeOnlyBlocks, specOfBlocks, type EwqOptions, type EwqPlan } from '../../plan/ewq.ts';

interface Opts {
  method: string; k: number; bits?: string; bpw?: number; gptq?: boolean; klTokens: number; groupSize: number; budgetBytes?: number; target?: string;
  vectors: number; tokenizer?: string; output: string; json?: boolean; report?: string;
  calibration?: string; calibrationTokens: number; calibrationSkip: number;
}

export function register(program: Command): void {
  program
    .command('plan')
    .description('write a precision plan for a checkpoint: EWQ (per-block bits from the entropy of its weights, optionally fitted to a byte budget), FastEWQ, damage (per-block bits from the measured ΔKL on calibration text), mixed (a format per block matrix, by its output error, under a budget) or uniform')
    .argument('<checkpoint>', 'a model: llama2.c .bin, GGUF (.gguf), .safetensors beside config.json, or a Hugging Face directory (detected from the content); GGUF/HF need --tokenizer for now')
    .option('--method <m>', 'ewq, fastewq (EWQ decisions predicted from the configuration by a shipped decision tree; no weights read), damage (blocks ranked by the measured ΔKL of lowering each alone, on --calibration text), mixed (a weight format and group size per block matrix, chosen by its calibration output error under --bpw or --budget-bytes), or uniform:<bits>[g<G>] (the plan file of a uniform plan, with the entropies)', 'ewq')
    .option('--bpw <bits>', '--method mixed: the budget as bits per block weight (block-matrix data bytes · 8 / block weights, as docs/quality.md counts it), e.g. 4.6', floatOption('--bpw', 0.5, 16))
    .option('--kl-tokens <n>', `--method mixed: self-generated tokens to measure each matrix's KL sensitivity on (0: allocate by the plain sum of damages)`, intOption('--kl-tokens', 0, 1_000_000), SENSITIVITY_TOKENS)
    .option('--gptq', '--method mixed: score each format as edgeq compile --gptq stores it (GPTQ on the same self-generated calibration); compile the plan with --gptq')
    .option('--k <k>', 'threshold of the rule without a budget: blocks below mean−k·std of the block entropies (damage: of the ΔKL values) get the lowest of --bits, above mean+k·std the highest', floatOption('--k', 0, 100), DEFAULT_EWQ_K)
    .option('--calibration <text>', '--method damage: UTF-8 text (paragraphs separated by blank lines) to measure the damage on, encoded with --tokenizer; use text the model is not evaluated on')
    .option('--calibration-tokens <n>', '--method damage: tokens of --calibration to use', intOption('--calibration-tokens', 1, 1_000_000), DEFAULT_CALIBRATION_TOKENS)
    .option('--calibration-skip <n>', '--method damage: skip the first n tokens of --calibration (e.g. the ones edgeq eval --tokens n evaluates on, so one text serves both)', intOption('--calibration-skip', 0, 100_000_000), 0)
    .option('--bits <list>', `candidate bits, e.g. 8,4,2 (from ${PLAN_BITS.join(', ')}; default 8,4,2; for --method mixed ${MIXED_DEFAULT_BITS.join(',')}, add 2.5 for vq2)`)
    .option('--group-size <G>', `group size of low-bit matrices (${ALL_GROUP_SIZES.join(', ')})`, intOption('--group-size', ALL_GROUP_SIZES[0], ALL_GROUP_SIZES.at(-1)), 64)
    .option('--budget-bytes <n>', 'fit what goes onto the device into n bytes (model.edgeq + runtime.wasm; for a board target its firmware image): blocks are lowered, least damage first, until it fits', intOption('--budget-bytes', 1))
    .option('--target <name>', "the compile's target (targets/<name>.json; default wasm32): the runtime is sized for it, and its flashBytes is the budget unless --budget-bytes is given")
    .option('--vectors <n>', 'conformance positions the compile will embed (counted in the size; edgeq compile default 32)', intOption('--vectors', 0, 4096), 32)
    .option('--tokenizer <path>', 'the tokenizer the compile will embed (counted in the size); --method damage encodes --calibration with it (required)')
    .requiredOption('-o, --output <plan.json>', 'plan file to write (atomically)')
    .option('--json', 'print the plan summary as JSON on stdout')
    .option('--report <plan.html>', 'also write a self-contained HTML report (SVG chart of entropy, bits, bytes per block and size vs budget; the plan table)')
    .addHelpText('after', `
Entropy of a matrix: Shannon entropy (nats) of the softmax of its flattened weights; of a block:
the parameter-weighted mean over its 7 matrices. Sizes are exact: the bytes edgeq compile writes
with this plan file (same --target, --vectors, --tokenizer; the plan file's name is stored in the
artifact). A budget covers model.edgeq + runtime.wasm, or for a board target (cortex-m) the
firmware image's flash as edgeq flash measures it; the embedding and classifier stay int8.

Examples:
  $ edgeq plan ../shared/models/stories260K.bin -o ewq.json
  $ edgeq plan model.bin --bits 8,4,2 --budget-bytes 300000 -o fit.json && edgeq compile model.bin --target wasm32 --vectors 32 --plan fit.json -o out/fit
  $ edgeq plan model.bin --target cortex-m -o fit.json && edgeq compile model.bin --target cortex-m --plan fit.json -o out/m
  $ edgeq plan model.bin --method damage --calibration calib.txt --tokenizer tok.bin --budget-bytes 300000 -o dmg.json
  $ edgeq plan model.bin --method mixed --bpw 4.6 --gptq -o mixed.json && edgeq compile model.bin --plan mixed.json --gptq -o out/mixed

Damage (--method damage): ΔKL of a block = mean KL per token against the float model with only
that block at the lowest of --bits and the others at the highest, minus the KL with all at the
highest; teacher-forced on --calibration-tokens tokens of --calibration, each plan's
runtime.wasm run in V8 (L + 1 bundles; progress on stderr). With a budget, blocks are lowered
in ascending ΔKL order (the EWQ fit); without, the k·std rule applies to the ΔKL values.

Mixed (--method mixed): every block matrix (wq wk wv wo w1 w2 w3 of each block) gets its own
format among every registered one its input size admits (int8, q6 g32, q5 g32/64, q4..q1
g32/64/128; --bits narrows the low-bit ones). Each (matrix, format) is scored by its damage
tr(ΔW H ΔWᵀ) / tr(W H Wᵀ): the relative error of the matrix's output on the inputs of 8192
self-generated calibration tokens (H = Σ x xᵀ, the Hessians compile --gptq uses; with --gptq
ΔW is what compile --gptq stores, exactly). Damage alone does not say what a matrix's error
costs downstream, so each matrix's sensitivity (KL per unit damage) is measured: bundles
with only that matrix at 2 and at 4 bits (the rest int8) against the float model, minus the
all-int8 bundle's KL, on --kl-tokens self-generated tokens (runtime.wasm in V8, as edgeq eval
runs it), interpolated between the two for the other formats; the plan minimizes
Σ sensitivity · damage (an estimate of the KL).
The budget, --bpw (bits per block weight) or --budget-bytes / --target (device bytes), is
spent greedily by estimated KL reduction per byte along each matrix's convex hull (a
Lagrangian allocation), then on any upgrade that still fits; it is never exceeded. A budget
below every matrix's smallest format is refused with the numbers.
`)
    .action((checkpoint: string, opts: Opts) => plan(checkpoint, opts));
}

const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;

async function plan(checkpoint: string, opts: Opts): Promise<void> {
  const inputs = [checkpoint, opts.tokenizer, opts.calibration].filter((x): x is string => x !== undefined);
  probeModelPath(checkpoint); // a model file or model directory, never a FIFO or device
  checkOutputFile(opts.output, '-o', inputs);
  if (opts.report !== undefined) checkOutputFile(opts.report, '--report', [...inputs, opts.output]);
  const target = loadTarget(opts.target ?? 'wasm32');
  let budgetBytes = opts.budgetBytes, budgetName = budgetBytes !== undefined ? `--budget-bytes ${budgetBytes}` : undefined;
  if (budgetBytes === undefined && opts.target !== undefined) {
    if (target.flashBytes === null) throw usageError(`target ${target.name} has no flash budget (flashBytes is null); use --budget-bytes`);
    budgetBytes = target.flashBytes; budgetName = `target ${target.name} (flashBytes ${target.flashBytes})`;
  }
  let steps: ReturnType<typeof damageSteps> | undefined;
  const mixed = opts.method === 'mixed';
  if (mixed) {
    if ((opts.bpw === undefined) === (budgetBytes === undefined)) {
      throw usageError(opts.bpw === undefined
        ? '--method mixed needs a budget: --bpw <bits per block weight> (e.g. 4.6), or --budget-bytes <n> / --target <name> with a flash size'
        : `--bpw and ${budgetName} are two budgets; give one`);
    }
  } else if (opts.bpw !== undefined || opts.gptq) {
    throw usageError(`${opts.bpw !== undefined ? '--bpw' : '--gptq'} is for --method mixed (got --method ${opts.method})`);
  }
  if (opts.method === 'damage') {
    if (opts.calibration === undefined) throw usageError('--method damage needs --calibration <text>: the text the damage of each block is measured on (not the text you evaluate on)');
    if (opts.tokenizer === undefined) throw usageError('--method damage needs --tokenizer <path> to encode --calibration (it is also counted in the size: compile with the same --tokenizer)');
    steps = damageSteps(parseBitsList(opts.bits ?? DEFAULT_BITS));
  } else if (opts.calibration !== undefined) {
    throw usageError(`--calibration is for --method damage (got --method ${opts.method})`);
  }
  const g = openModel(checkpoint);
  const tokenizer = opts.tokenizer !== undefined ? loadTokenizerFile(opts.tokenizer) : undefined;
  let measured: DamageMeasure | undefined;
  if (steps) {
    // Measured once, before the fit (which may plan several times); progress on stderr.
    const stream = calibrationTokens(tokenizer!, opts.calibration!, opts.calibrationTokens, opts.calibrationSkip);
    const t0 = Date.now();
    process.stderr.write(`damage: ${g.config.nLayers + 1} bundles on ${stream.length} calibration tokens of ${opts.calibration}${opts.calibrationSkip ? ` after the first ${opts.calibrationSkip}` : ''} (each block alone ${steps.hi} → ${steps.lo} bits)\n`);
    measured = await measureDamage(new KlMeter(g, loadWeights(g), stream), steps.hi, steps.lo, {
      groupSize: opts.groupSize,
      progress: (done, total, what) => process.stderr.write(`damage: [${done}/${total}] ${what} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`),
    });
  }
  const ctx = { sourcePath: checkpoint, vectors: opts.vectors, tokenizer, gptq: !!opts.gptq };
  const planName = basename(opts.output);
  const common: EwqOptions = { k: opts.k, groupSize: opts.groupSize, ...ctx, target: { name: target.name, simd: target.simd }, planName };
  let device: DeviceBytes | undefined, sizer: DeviceSizer | undefined;
  if (budgetBytes !== undefined) {
    sizer = new DeviceSizer(g.config, target, ctx);
    sizer.onProgress = (m) => process.stderr.write(`plan: ${m} (${(performance.now() / 1000).toFixed(1)} s since edgeq started)\n`);
    common.budgetBytes = budgetBytes;
    common.budgetName = `${budgetName} (covers ${sizer.covers}, target ${target.name})`;
  }
  const bits = opts.method.startsWith('uniform:') ? undefined : parseBitsList(opts.bits ?? (mixed ? MIXED_DEFAULT_BITS : DEFAULT_BITS));
  let scores: MatrixScores[] | undefined;
  if (mixed) {
    // Scored once, before the fit (which may plan several times); progress on stderr.
    const w = loadWeights(g), t0 = Date.now();
    const cal = { sequences: CALIBRATION_SEQUENCES, length: CALIBRATION_LENGTH };
    process.stderr.write(`mixed: calibration: ${cal.sequences * cal.length} self-generated tokens (as compile --gptq)\n`);
    const hessians = calibrate(w, cal);
    const progress = (done: number, total: number, what: string) => process.stderr.write(`mixed: [${done}/${total}] ${what} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
    scores = scoreMatrices(w, hessians, { gptq: !!opts.gptq, bits: bits!, progress });
    if (opts.klTokens > 0) {
      process.stderr.write(`mixed: KL sensitivity of each matrix on ${opts.klTokens} self-generated tokens (float model, one matrix quantized at a time)\n`);
      scores = await measureSensitivity(w, scores, hessians, selfGeneratedStream(w, opts.klTokens), { gptq: !!opts.gptq, progress });
    }
  }
  // The fit: exact model.edgeq bytes plus the runtime's (or firmware's code) bytes of a plan
  // with the same op kinds; then the chosen plan measured exactly, and refitted with the
  // difference added should it not fit (the runtime's op count constant).
  const fitted = async (make: (o: EwqOptions) => EwqPlan): Promise<EwqPlan> => {
    if (!sizer) return make(common);
    const extra = new Map<string, number>();
    const kindsKey = (spec: Parameters<NonNullable<EwqOptions['sizeOf']>>[0]) => JSON.stringify(Object.values(spec.blocks ?? {}).map((b) => b.choice?.bits === 8) .every(Boolean) && spec.bits === 8);
    // Code bytes (runtime or firmware minus the artifact) per op-kind set: all int8, or with LUT kernels.
    const u = opts.method.startsWith('uniform:') ? parsePlan(opts.method) : undefined;
    const hi = u?.bits ?? bits![0], lo = u?.bits ?? bits![bits!.length - 1];
    for (const b of new Set([hi, lo])) {
      const all = specOfBlocks({ ...shapeStub(g.config.nLayers, b, u?.groupSize || opts.groupSize) }, planName);
      const d = await sizer.measure(all, true);
      extra.set(kindsKey(all), d.total - d.artifact);
    }
    let slack = 0;
    for (let attempt = 0; attempt < 4; attempt++) {
      const sizeOf = (spec: Parameters<NonNullable<EwqOptions['sizeOf']>>[0]) =>
        exactArtifactBytes(g.config, spec, { ...ctx, target }) + (extra.get(kindsKey(spec)) ?? Math.max(...extra.values())) + slack;
      const p = make({ ...common, sizeOf });
      device = await sizer.measure(specOfBlocks(p, planName), true);
      if (device.total <= budgetBytes!) return { ...p, budgetUsed: device.total, budgetCovers: sizer.covers };
      slack += device.total - p.budgetUsed!;
    }
    throw new Error(`internal: the budget fit did not converge (${describeBytes(device!)} vs budget ${budgetBytes})`);
  };
  let p: EwqPlan;
  if (opts.method === 'ewq') {
    p = await fitted((o) => planEwq(g, { ...o, bits }));
  } else if (opts.method === 'fastewq') {
    p = await fitted((o) => planFastEwq(g.config, { ...o, bits }));
  } else if (opts.method === 'damage') {
    p = await fitted((o) => planDamage(g, measured!, { ...o, bits }));
  } else if (mixed) {
    p = await fitted((o) => planMixed(g.config, scores!, { ...o, bits, bpw: opts.bpw, gptq: !!opts.gptq, calibrationTokens: CALIBRATION_SEQUENCES * CALIBRATION_LENGTH, klTokens: opts.klTokens }));
  } else if (opts.method.startsWith('uniform:')) {
    const u = parsePlan(opts.method);
    if (u.classifier) throw usageError(`--method ${opts.method}: edgeq plan writes int8-classifier plans; add "classifier": {"bits": ${u.classifier.bits}} to the plan file to opt in`);
    const uo = { bits: [u.bits], groupSize: u.groupSize || opts.groupSize };
    p = await fitted((o) => {
      const q = planEwq(g, { ...o, ...uo, budgetBytes: undefined, sizeOf: undefined });
      const r = { ...q, method: `${u.name ?? opts.method}`, blocks: q.blocks.map((b) => ({ ...b, rule: `uniform: ${b.bits} bits` })) };
      if (o.budgetBytes === undefined) return r;
      const used = o.sizeOf!(specOfBlocks(r, planName));
      if (used > o.budgetBytes) throw new EdgeqError(`plan ${opts.method} does not fit ${o.budgetName}: it needs ${used} bytes, budget ${o.budgetBytes} bytes, ${used - o.budgetBytes} bytes over`);
      return { ...r, budgetBytes: o.budgetBytes, budgetUsed: used };
    });
  } else {
    throw usageError(`--method must be ewq, fastewq, damage, mixed or uniform:<bits>[g<G>], got "${opts.method}"`);
  }
  const json = ewqPlanJson(p);
  writeFileAtomic(opts.output, JSON.stringify(json, null, 2) + '\n');
  if (opts.report !== undefined) writeFileAtomic(opts.report, planReportHtml(p, { title: basename(checkpoint) }));
  if (opts.json) {
    process.stdout.write(JSON.stringify({
      plan: opts.output, method: p.method, mean: p.mean, std: p.std, totalBytes: p.totalBytes, budgetBytes: p.budgetBytes ?? null,
      target: target.name, budgetCovers: p.budgetCovers ?? null, budgetUsed: p.budgetUsed ?? null,
      device: device ?? null,
      fixedBytes: p.fixedBytes, overheadBytes: p.overheadBytes,
      ...(p.damage ? { damage: p.damage } : {}),
      ...(p.mixed ? { mixed: p.mixed } : {}),
      blocks: p.blocks.map((b) => ({
        block: b.block, entropy: b.entropy, ...(b.deltaKl !== undefined ? { deltaKl: b.deltaKl } : {}), bits: b.bits, bytes: b.bytes, rule: b.rule,
        ...(p.mixed ? { matrices: b.matrices.map((m) => ({ name: m.name, format: m.choice.format, bits: m.choice.bits, groupSize: m.choice.groupSize, damage: m.damage, bytes: m.bytes })) } : {}),
      })),
    }, null, 2) + '\n');
    return;
  }
  const mx = p.mixed;
  const lines = [
    `${checkpoint}: ${g.config.nLayers} blocks, ${p.method}`,
    mx ? `matrix damage tr(ΔW H ΔWᵀ)/tr(W H Wᵀ) on ${mx.calibrationTokens} self-generated calibration tokens${mx.gptq ? ', as compile --gptq stores ΔW' : ''}: total ${mx.damage.toPrecision(4)}${mx.klEstimate !== undefined ? `, estimated KL ${mx.klEstimate.toPrecision(4)} (sensitivities on ${mx.klTokens} tokens)` : ''}; block matrices ${mx.blockBpw.toFixed(4)} bits per weight${mx.bpwBudget !== undefined ? ` (--bpw ${mx.bpwBudget})` : ''}`
      : p.damage ? `block damage ΔKL (nats/token, ${p.damage.hi} → ${p.damage.lo} bits on ${p.damage.calibrationTokens} calibration tokens; KL with every block at ${p.damage.hi} bits ${p.damage.baseKl.toFixed(6)}): mean ${p.damage.mean.toFixed(6)}, std ${p.damage.std.toFixed(6)}`
      : Number.isFinite(p.mean) ? `block entropy (nats): mean ${p.mean.toFixed(4)}, std ${p.std.toFixed(4)}` : 'no weights read (FastEWQ: decisions from the configuration)',
    '',
    ...(mx ? [
      `block  ${BLOCK_MATRICES.map((m) => m.padEnd(12)).join(' ')}       bytes`,
      ...p.blocks.map((b) => `${String(b.block).padStart(5)}  ${b.matrices.map((m) => label(m.choice).padEnd(12)).join(' ')}  ${String(b.bytes).padStart(10)}`),
      'damage',
      ...p.blocks.map((b) => `${String(b.block).padStart(5)}  ${b.matrices.map((m) => m.damage!.toPrecision(3).padEnd(12)).join(' ')}`.trimEnd()),
    ] : [p.damage ? 'block       ΔKL   bits       bytes  rule' : 'block  entropy   bits       bytes  rule']),
    ...(mx ? [] : p.blocks).map((b) => `${String(b.block).padStart(5)}  ${(p.damage ? b.deltaKl!.toFixed(6).padStart(8) : (Number.isFinite(b.entropy) ? b.entropy.toFixed(4) : '—').padStart(7))}  ${String(b.bits).padStart(5)}  ${String(b.bytes).padStart(10)}  ${b.rule}`),
    '',
    `blocks ${p.blocks.reduce((s, b) => s + b.bytes, 0)} + embedding/classifier/tables ${p.fixedBytes} + format overhead${tokenizer ? ' and tokenizer' : ''} ${p.overheadBytes}`,
    `model.edgeq ${p.totalBytes} bytes (${kib(p.totalBytes)}, exact for edgeq compile --target ${target.name} --vectors ${opts.vectors}${tokenizer ? ' --tokenizer' : ''} --plan ${planName})`,
    ...(device && p.budgetBytes !== undefined ? [
      `on the device: ${describeBytes(device)} vs budget ${p.budgetBytes} bytes (${kib(p.budgetBytes)}, ${budgetName}; covers ${p.budgetCovers}): fits, ${p.budgetBytes - device.total} bytes spare`,
    ] : []),
    `wrote ${opts.output}${opts.report !== undefined ? ` and ${opts.report}` : ''}`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

/** A plan stub with every block at `bits` (for sizing the op-kind sets). */
function shapeStub(L: number, bits: number, groupSize: number) {
  const b = bits as 8 | 4 | 3 | 2 | 1;
  return {
    bits: [b], groupSize, method: 'size', mean: NaN, std: NaN,
    blocks: Array.from({ length: L }, (_, block) => ({ block, entropy: NaN, bits: b, rule: '', bytes: 0, matrices: [] })),
  };
}
