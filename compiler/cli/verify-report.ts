// What `edgeq verify` reports, shared by inference conformance (./commands/verify.ts) and
// `verify --train` (./verify-train.ts): the verdict types, how an engine's printed hashes are
// judged against the expected ones, and the engine × bundle matrix. Both commands import
// this module; neither imports the other's internals (no import cycle).
import { FINETUNE_DEFAULTS } from '../train/trainer.ts';
import { formatHash, type EngineRun, type expectedHashes } from '../engines/engine.ts';
import type { LayersReport } from '../engines/layers.ts';

export interface EngineVerdict {
  engine: string;
  status: 'pass' | 'fail' | 'error' | 'skipped';
  /** Why skipped, or what went wrong (error), or a summary of the failure. */
  reason?: string;
  positions: number;
  matched: number;
  firstMismatch: { case: string; position: number; expected: string; got: string | null } | null;
  /** What the runtime's own selftest() counted against the embedded hashes. */
  selftestMismatches: number | null;
  runtime: EngineRun['runtime'] | null;
  buildMs: number | null;
  runMs: number | null;
  /** --train only: the hash the engine printed after each step (16 hex digits), in order. */
  hashes?: string[];
}

export interface BundleVerdict {
  dir: string;
  artifactSha256: string;
  runtimeSha256: string;
  expected: { source: string; cases: Array<{ name: string; positions: number }>; positions: number };
  engines: EngineVerdict[];
  /**
   * --layers, when an engine failed: the first op whose output differs from the program
   * interpreter's (the reference kernels), on a traced build of that engine's runtime
   * flavour (compiler/engines/layers.ts).
   */
  layers?: LayersReport | { error: string };
  /** --train: the training run checked (settings, windows, the reference's hashes; ./verify-train.ts). */
  train?: TrainInfo;
}

export interface VerifyReport { ok: boolean; bundles: BundleVerdict[] }

export interface TrainAnchor {
  case: 'greedy-bos';
  positions: number;
  matched: number;
  firstMismatch: { position: number; expected: string; got: string } | null;
}

export interface TrainInfo {
  steps: number; rank: number; rPad: number; seqLen: number; lr: number; seed: number;
  tokens: { source: string; windows: number[][] };
  /** The reference's hash after each step (what every engine must print), and its summed loss (Q16 nats). */
  hashes: string[];
  lossesQ16: number[];
  /** The reference's greedy logits against the artifact's compile-time hashes; null when it has none. */
  anchor: TrainAnchor | null;
  /** The training modules built (by SIMD flavour), with the selftest embedded. */
  modules: Array<{ simd: boolean; sha256: string; buildMs: number }>;
  referenceMs: number;
}

/** --train: edgeq finetune's defaults (./finetune.ts), what a user's first run trains with. */
export const TRAIN_LR = FINETUNE_DEFAULTS.lr;
export const TRAIN_SEED = FINETUNE_DEFAULTS.seed;

/**
 * Judges what an engine printed against the expected hashes (in order). Shared with
 * `verify --train` (./verify-train.ts), whose "positions" are training steps.
 */
export function judgeRun(
  base: EngineVerdict, expected: ReturnType<typeof expectedHashes>,
  run: Pick<EngineRun, 'hashes' | 'mismatches' | 'runtime' | 'buildMs' | 'runMs'>, unit: Unit = 'position',
): EngineVerdict {
  let matched = 0;
  let first: EngineVerdict['firstMismatch'] = null;
  for (let i = 0; i < Math.max(expected.length, run.hashes.length); i++) {
    const want = expected[i], got = run.hashes[i];
    const ok = want && got && got.position === want.position && got.hash === want.hash;
    if (ok) { matched++; continue; }
    first ??= {
      case: want?.caseName ?? '(none: extra line)', position: want?.position ?? got!.position,
      expected: want ? formatHash(want.hash) : '(nothing)', got: got ? formatHash(got.hash) : null,
    };
  }
  const pass = first === null && run.mismatches === 0;
  return {
    ...base, status: pass ? 'pass' : 'fail', matched, firstMismatch: first, selftestMismatches: run.mismatches,
    runtime: run.runtime, buildMs: Math.round(run.buildMs), runMs: Math.round(run.runMs),
    ...(pass ? {} : {
      reason: first
        ? `${unit} ${first.position}${unit === 'position' ? ` (case ${first.case})` : ''}: expected ${first.expected}, got ${first.got ?? 'no line'}`
        : `every hash matched but the runtime's selftest() counted ${run.mismatches} mismatches`,
    }),
  };
}

/** What an engine's hashes are counted in: inference positions, or training steps (--train). */
export type Unit = 'position' | 'step';

function cell(v: EngineVerdict, unit: Unit): string {
  switch (v.status) {
    case 'pass': return `✓ ${v.matched}/${v.positions}`;
    case 'fail': return v.firstMismatch ? `✗ ${unit === 'position' ? 'pos' : 'step'} ${v.firstMismatch.position}` : '✗ selftest';
    case 'error': return '✗ error';
    case 'skipped': return '- skipped';
  }
}

/** The engine × bundle matrix with times, the notes (failures, --layers) and the summary line. */
export function formatMatrix(r: VerifyReport, unit: Unit = 'position'): string {
  const lines: string[] = [];
  const engines = r.bundles[0]?.engines.map((e) => e.engine) ?? [];
  const w0 = Math.max(6, ...engines.map((e) => e.length));
  const cols = r.bundles.map((b, i) => b.engines.map((v) => cell(v, unit)).concat(`[${i + 1}]`));
  const wc = cols.map((c) => Math.max(...c.map((s) => s.length)));
  lines.push(['engine'.padEnd(w0), ...r.bundles.map((_, i) => `[${i + 1}]`.padEnd(wc[i]))].join('  ').trimEnd());
  for (const [k, name] of engines.entries()) {
    const times = r.bundles.map((b) => b.engines[k]).filter((v) => v.runMs !== null).map((v) => `build ${((v.buildMs ?? 0) / 1000).toFixed(1)}s run ${((v.runMs ?? 0) / 1000).toFixed(1)}s`);
    lines.push([name.padEnd(w0), ...r.bundles.map((b, i) => cell(b.engines[k], unit).padEnd(wc[i])), times.join('; ')].join('  ').trimEnd());
  }
  const notes: string[] = [];
  for (const [i, b] of r.bundles.entries()) {
    for (const v of b.engines) {
      if (v.status !== 'pass' && v.reason) notes.push(`${v.engine} [${i + 1}] ${v.status}: ${v.reason}`);
    }
  }
  for (const [i, b] of r.bundles.entries()) {
    if (!b.layers) continue;
    if ('error' in b.layers) notes.push(`--layers [${i + 1}]: ${b.layers.error}`);
    else notes.push(`--layers [${i + 1}] (${b.layers.engine}: ${b.layers.compared.join(' vs ')}, case ${b.layers.case}, position ${b.layers.position}): ${b.layers.note}`);
  }
  if (notes.length) lines.push('', ...notes);
  const all = r.bundles.flatMap((b) => b.engines);
  const count = (s: EngineVerdict['status']) => all.filter((v) => v.status === s).length;
  lines.push('', `${r.ok ? 'OK' : 'FAILED'}: ${count('pass')} passed, ${count('fail') + count('error')} failed, ${count('skipped')} skipped`);
  return lines.join('\n') + '\n';
}
