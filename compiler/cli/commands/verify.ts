// `edgeq verify <dir...>`: runs each bundle's embedded conformance vectors on every
// engine (compiler/engines) and checks each position's hash against the hashes the
// compiler embedded in model.edgeq (computed at compile time by the integer reference,
// runtime/reference/model.ts). Prints a matrix engine × bundle; exit 1 on any mismatch or
// engine failure. An engine that cannot run here is reported as skipped, with the reason.
import type { Command } from 'commander';
import { ENGINES, engineNames } from '../../engines/index.ts';
import { EngineUnavailable, expectedHashes, readBundle, type Bundle, type Engine, type EngineRun } from '../../engines/engine.ts';
import { fileSha256 } from '../../engines/cache.ts';
import { EdgeqError, usageError } from '../../util/errors.ts';
import { choiceOption, intOption } from '../options.ts';
import { LORA_RANKS } from '../../train/int-reference.ts';
import type { LocateOptions } from '../../engines/layers.ts';
import { checkTrust } from '../../engines/trust.ts';
import { TRAIN_LR, TRAIN_SEED, formatMatrix, judgeRun, type BundleVerdict, type EngineVerdict, type VerifyReport } from '../verify-report.ts';

export const EXPECTED_SOURCE = 'model.edgeq conformance table (written at compile time by the integer reference, runtime/reference/model.ts)';

/** Runs one engine on one bundle and judges it; never throws for engine failures. */
export async function verifyEngine(engine: Engine, bundle: Bundle, opts: { timeoutMs?: number; log?: (s: string) => void } = {}): Promise<EngineVerdict> {
  const expected = expectedHashes(bundle.contents);
  const base: EngineVerdict = {
    engine: engine.name, status: 'skipped', positions: expected.length, matched: 0, firstMismatch: null,
    selftestMismatches: null, runtime: null, buildMs: null, runMs: null,
  };
  const why = engine.available();
  if (why) return { ...base, reason: why };
  let run: EngineRun;
  try {
    run = await engine.run(bundle, opts);
  } catch (e) {
    if (e instanceof EngineUnavailable) return { ...base, reason: e.message };
    if (e instanceof EdgeqError) return { ...base, status: 'error', reason: e.message };
    throw e;
  }
  return judgeRun(base, expected, run);
}

/**
 * The engines `spec` names. `inGroup` filters only what a group brings in ("all", a family
 * such as "v8"): `--train` leaves out engines without a training runner there (the threaded ones),
 * while one named exactly is kept and reported as skipped with the reason.
 */
export function selectEngines(spec: string, inGroup: (e: Engine) => boolean = () => true): Engine[] {
  if (spec === 'all') return ENGINES.filter(inGroup);
  const names = spec.split(',').map((s) => s.trim()).filter(Boolean);
  const out: Engine[] = [];
  for (const n of names) {
    // An exact name is that engine; otherwise a family ("v8", "wasm2c", "wasm2c-aarch64"
    // is exact, so its -simd sibling is named on its own).
    const exact = ENGINES.filter((e) => e.name === n);
    const m = exact.length ? exact : ENGINES.filter((e) => e.name.startsWith(`${n}-`) && inGroup(e));
    if (m.length === 0) throw usageError(`--engines: unknown engine "${n}"; known engines: ${engineNames().join(', ')} (or all)`);
    for (const e of m) if (!out.includes(e)) out.push(e);
  }
  return out;
}

export async function verifyBundles(
  dirs: string[], engines: Engine[],
  opts: { timeoutMs?: number; log?: (s: string) => void; layers?: boolean; layersOptions?: LocateOptions } = {},
): Promise<VerifyReport> {
  const bundles: BundleVerdict[] = [];
  for (const dir of dirs) {
    const b = readBundle(dir);
    const cases = b.contents.conformance.map((c) => ({ name: c.name, positions: c.positions }));
    if (cases.reduce((s, c) => s + c.positions, 0) === 0) throw new EdgeqError('the artifact has no conformance vectors to check', { file: b.artifactPath });
    const verdicts: EngineVerdict[] = [];
    for (const e of engines) {
      opts.log?.(`verify: ${e.name} on ${dir}...`);
      verdicts.push(await verifyEngine(e, b, opts));
    }
    const failed = verdicts.find((v) => v.status === 'fail' && v.firstMismatch && v.firstMismatch.got !== null);
    let layers: BundleVerdict['layers'];
    if (opts.layers && failed) {
      opts.log?.(`verify --layers: tracing ${dir} at position ${failed.firstMismatch!.position}...`);
      try {
        const { locateFirstDifference } = await import('../../engines/layers.ts');
        layers = await locateFirstDifference(b, failed.firstMismatch!.case, failed.firstMismatch!.position,
          { engine: failed.engine, ...(failed.runtime ? { simd: failed.runtime.simd } : {}), ...opts.layersOptions });
      } catch (e) {
        if (!(e instanceof EdgeqError)) throw e;
        layers = { error: e.message };
      }
    }
    bundles.push({
      dir, artifactSha256: fileSha256(b.artifact), runtimeSha256: fileSha256(b.runtimeWasm),
      expected: { source: EXPECTED_SOURCE, cases, positions: cases.reduce((s, c) => s + c.positions, 0) },
      engines: verdicts,
      ...(layers ? { layers } : {}),
    });
  }
  const ok = bundles.every((b) => b.engines.every((e) => e.status === 'pass' || e.status === 'skipped'));
  return { ok, bundles };
}

export function formatReport(r: VerifyReport): string {
  const lines: string[] = [];
  for (const [i, b] of r.bundles.entries()) {
    lines.push(`[${i + 1}] ${b.dir}: ${b.expected.positions} positions in ${b.expected.cases.length} case(s) (${b.expected.cases.map((c) => `${c.name}: ${c.positions}`).join(', ')}); artifact sha256 ${b.artifactSha256.slice(0, 16)}…`);
  }
  lines.push(`expected hashes: ${EXPECTED_SOURCE}`, '');
  return lines.join('\n') + '\n' + formatMatrix(r);
}

interface VerifyOptions {
  engines: string; json?: boolean; layers?: boolean; timeout: string; trust?: string;
  train?: boolean; steps?: number; rank?: string; seqLen?: number;
}

export const TRAIN_DEFAULTS = { steps: 3, rank: 8, seqLen: 16 };
/** Each step's tokens are embedded in the module (and the Cortex-M image): keep runs short. */
export const MAX_TRAIN_STEPS = 64;

const TRAIN_ONLY = [['steps', '--steps'], ['rank', '--rank'], ['seqLen', '--seq-len']] as const;

/** Flags that only make sense together (exit 2 before anything is read). */
function checkFlags(opts: VerifyOptions): void {
  if (opts.train && opts.layers) throw usageError('--layers traces the inference program op by op; it cannot be combined with --train (run `edgeq verify` without --train to locate an inference mismatch)');
  if (!opts.train) {
    for (const [key, flag] of TRAIN_ONLY) if (opts[key] !== undefined) throw usageError(`${flag} sets up the training run of --train; pass --train too, or drop ${flag}`);
  }
}

export function register(program: Command): void {
  program
    .command('verify')
    .description('run the bundle\'s conformance vectors on every engine and check each hash against the integer reference (--train: a few fine-tuning steps instead)')
    .argument('<dir...>', 'bundle directories (model.edgeq + runtime.wasm), from `edgeq compile`')
    .option('--engines <list>', `all, or a comma list of: ${engineNames().join(', ')} (v8 and wasm2c name their families)`, 'all')
    .option('--json', 'print one JSON object instead of the matrix')
    .option('--layers', 'on a mismatch, replay it op by op on a traced runtime and the program interpreter and name the first op whose output differs from the reference')
    .option('--timeout <seconds>', 'time limit for each engine\'s run (emulators included)', '600')
    .option('--trust <key.pub>', 'check each bundle first: its manifest signed by this Ed25519 public key (edgeq compile --sign), every file matching the manifest\'s sha256')
    .option('--train', 'check the training runtime instead: a few LoRA fine-tuning steps on every engine against the integer reference trainer (int8 bundles only)')
    .option('--steps <n>', `--train: training steps (default ${TRAIN_DEFAULTS.steps}, at most ${MAX_TRAIN_STEPS})`, intOption('--steps', 1, MAX_TRAIN_STEPS))
    .option('--rank <r>', `--train: LoRA rank, ${LORA_RANKS.join(', ')} (default ${TRAIN_DEFAULTS.rank})`, choiceOption('--rank', LORA_RANKS.map(String)))
    .option('--seq-len <L>', `--train: positions per step (default ${TRAIN_DEFAULTS.seqLen}, at most the model's seq_len)`, intOption('--seq-len', 1, 1 << 20))
    .addHelpText('after', `
Exit status: 0 when every engine that could run matched every position (every step with
--train), 1 otherwise, 2 for bad flags.
Engines whose tools are missing are listed as skipped, with the reason.
Build outputs are cached by content in $EDGEQ_CACHE (default ~/.cache/edgeq).

--layers, for the first engine that failed (at position p): replays positions 0..p on a
traced build of that engine's runtime flavour (a debug.after_op(i) call after each kernel;
V8 SIMD or scalar; for wasm2c and cortex-m engines the V8 scalar build stands in, and the
report says so) in lockstep with the program interpreter (the artifact's program run with
the integer reference kernels over the same arena layout), compares every op's output
slots, and names the first op whose output differs from the reference: op index, kind,
name (e.g. blocks.3.wq), slot, first differing byte and the two values. The other SIMD
flavour is traced too, so the report says whether SIMD and scalar share the difference.
When no op differs, it says whether the engine's translation or the program/conformance
table is at fault.

--train checks fine-tuning instead of inference (int8 bundles; a low-bit one is refused).
The integer reference trainer (runtime/reference/train.ts) runs --steps steps of LoRA
training from the initial adapter edgeq finetune starts from (rank --rank; lr ${TRAIN_LR} and
seed ${TRAIN_SEED}, edgeq finetune's defaults) on the model's own greedy text from BOS (no
tokenizer needed): step k reads tokens j·L .. j·L + L, L = --seq-len, j = k mod
floor(seq_len / L), and the adapter state and loss are hashed after each step (FNV-1a 64).
A training module with that run embedded (compiler/codegen/train-runtime.ts) runs on each
engine and must print the same hash after every step. The reference is first anchored to
the bundle: its greedy logits must match the artifact's compile-time greedy-bos hashes, so
a model.edgeq changed after compile fails rather than vouching for itself. --json adds a
"train" field to each bundle (settings, windows, the reference's hashes and losses, the
anchor) and to each engine the hashes it printed. Exit 1 names the first engine and step
that differ; --layers does not combine with --train.

Examples:
  $ edgeq verify out/stories260K
  $ edgeq verify out/stories260K --engines v8,wasm2c-x86_64 --json
  $ edgeq verify out/stories260K --engines cortex-m --layers
  $ edgeq verify out/stories260K --train --engines v8,wasm-interp,wasm2c --steps 3 --rank 8
`)
    .action(async (dirs: string[], opts: VerifyOptions) => {
      checkFlags(opts);
      const train = opts.train ? await import('../verify-train.ts') : null;
      const engines = selectEngines(opts.engines, train ? train.hasTrainRunner : undefined);
      const timeoutMs = Number(opts.timeout) * 1000;
      if (!(timeoutMs > 0)) throw usageError(`--timeout expects a positive number of seconds, got "${opts.timeout}"`);
      if (opts.trust !== undefined) for (const d of dirs) checkTrust(d, opts.trust);
      const log = opts.json ? undefined : (s: string) => { process.stderr.write(`${s}\n`); };
      if (train) {
        const { verifyTrain, formatTrainReport, firstTrainFailure } = train;
        const report = await verifyTrain(dirs, engines, {
          steps: opts.steps ?? TRAIN_DEFAULTS.steps, rank: opts.rank !== undefined ? Number(opts.rank) : TRAIN_DEFAULTS.rank,
          seqLen: opts.seqLen ?? TRAIN_DEFAULTS.seqLen, timeoutMs, log,
        });
        process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatTrainReport(report));
        if (!report.ok) throw new EdgeqError(`training conformance failed: ${firstTrainFailure(report)}`, {}, 1);
        return;
      }
      const report = await verifyBundles(dirs, engines, { timeoutMs, layers: opts.layers, log });
      process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
      if (!report.ok) throw new EdgeqError('conformance check failed', {}, 1);
    });
}
