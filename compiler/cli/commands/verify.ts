// `edgeq verify <dir...>`: runs each bundle's embedded conformance vectors on every
// engine (compiler/engines) and checks each position's hash against the hashes the
// compiler embedded in model.edgeq (computed at compile time by the integer reference,
// runtime/reference/model.ts). Prints a matrix engine × bundle; exit 1 on any mismatch or
// engine failure. An engine that cannot run here is reported as skipped, with the reason.
import type { Command } from 'commander';
import { ENGINES, engineNames } from '../../engines/index.ts';
import { EngineUnavailable, expectedHashes, formatHash, readBundle, type Bundle, type Engine, type EngineRun } from '../../engines/engine.ts';
import { fileSha256 } from '../../engines/cache.ts';
import { EdgeqError, usageError } from '../../util/errors.ts';
import type { LayersReport, LocateOptions } from '../../engines/layers.ts';
import { checkTrust } from '../../engines/trust.ts';

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
}

export interface VerifyReport { ok: boolean; bundles: BundleVerdict[] }

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
        ? `position ${first.position} (case ${first.case}): expected ${first.expected}, got ${first.got ?? 'no line'}`
        : `every hash matched but the runtime's selftest() counted ${run.mismatches} mismatches`,
    }),
  };
}

export function selectEngines(spec: string): Engine[] {
  if (spec === 'all') return ENGINES;
  const names = spec.split(',').map((s) => s.trim()).filter(Boolean);
  const out: Engine[] = [];
  for (const n of names) {
    // "v8" and "wasm2c" name families.
    const m = ENGINES.filter((e) => e.name === n || e.name.startsWith(`${n}-`));
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

function cell(v: EngineVerdict): string {
  switch (v.status) {
    case 'pass': return `✓ ${v.matched}/${v.positions}`;
    case 'fail': return v.firstMismatch ? `✗ pos ${v.firstMismatch.position}` : '✗ selftest';
    case 'error': return '✗ error';
    case 'skipped': return '- skipped';
  }
}

export function formatReport(r: VerifyReport): string {
  const lines: string[] = [];
  for (const [i, b] of r.bundles.entries()) {
    lines.push(`[${i + 1}] ${b.dir}: ${b.expected.positions} positions in ${b.expected.cases.length} case(s) (${b.expected.cases.map((c) => `${c.name}: ${c.positions}`).join(', ')}); artifact sha256 ${b.artifactSha256.slice(0, 16)}…`);
  }
  lines.push(`expected hashes: ${EXPECTED_SOURCE}`, '');
  const engines = r.bundles[0]?.engines.map((e) => e.engine) ?? [];
  const w0 = Math.max(6, ...engines.map((e) => e.length));
  const cols = r.bundles.map((b, i) => b.engines.map(cell).concat(`[${i + 1}]`));
  const wc = cols.map((c) => Math.max(...c.map((s) => s.length)));
  lines.push(['engine'.padEnd(w0), ...r.bundles.map((_, i) => `[${i + 1}]`.padEnd(wc[i]))].join('  ').trimEnd());
  for (const [k, name] of engines.entries()) {
    const times = r.bundles.map((b) => b.engines[k]).filter((v) => v.runMs !== null).map((v) => `build ${((v.buildMs ?? 0) / 1000).toFixed(1)}s run ${((v.runMs ?? 0) / 1000).toFixed(1)}s`);
    lines.push([name.padEnd(w0), ...r.bundles.map((b, i) => cell(b.engines[k]).padEnd(wc[i])), times.join('; ')].join('  ').trimEnd());
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

interface VerifyOptions { engines: string; json?: boolean; layers?: boolean; timeout: string; trust?: string }

export function register(program: Command): void {
  program
    .command('verify')
    .description('run the bundle\'s conformance vectors on every engine and check each hash against the integer reference')
    .argument('<dir...>', 'bundle directories (model.edgeq + runtime.wasm), from `edgeq compile`')
    .option('--engines <list>', `all, or a comma list of: ${engineNames().join(', ')} (v8 and wasm2c name their families)`, 'all')
    .option('--json', 'print one JSON object instead of the matrix')
    .option('--layers', 'on a mismatch, replay it op by op on a traced runtime and the program interpreter and name the first op whose output differs from the reference')
    .option('--timeout <seconds>', 'time limit for each engine\'s run (emulators included)', '600')
    .option('--trust <key.pub>', 'check each bundle first: its manifest signed by this Ed25519 public key (edgeq compile --sign), every file matching the manifest\'s sha256')
    .addHelpText('after', `
Exit status: 0 when every engine that could run matched every position, 1 otherwise.
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

Examples:
  $ edgeq verify out/stories260K
  $ edgeq verify out/stories260K --engines v8,wasm2c-x86_64 --json
  $ edgeq verify out/stories260K --engines cortex-m --layers
`)
    .action(async (dirs: string[], opts: VerifyOptions) => {
      const engines = selectEngines(opts.engines);
      const timeoutMs = Number(opts.timeout) * 1000;
      if (!(timeoutMs > 0)) throw usageError(`--timeout expects a positive number of seconds, got "${opts.timeout}"`);
      if (opts.trust !== undefined) for (const d of dirs) checkTrust(d, opts.trust);
      const report = await verifyBundles(dirs, engines, { timeoutMs, layers: opts.layers, log: opts.json ? undefined : (s) => process.stderr.write(`${s}\n`) });
      process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
      if (!report.ok) throw new EdgeqError('conformance check failed', {}, 1);
    });
}
