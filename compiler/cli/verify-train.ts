// `edgeq verify --train`: conformance of the training runtime (runtime/assembly/train.ts,
// generated per bundle) on the engines `edgeq verify` knows, against the integer reference
// trainer (runtime/reference/train.ts), by the plumbing of compiler/engines/
// train-conformance.ts: a module with a short training run embedded prints, after each
// step, FNV-1a 64 of the adapter state block followed by the step's loss.
//
// Unlike inference, the expected hashes are not stored in the artifact: the reference
// computes them now, from the same model.edgeq the engines load. So that a model.edgeq
// changed after compile cannot vouch for itself, the reference's greedy text from BOS
// (which also supplies the training tokens) is checked against the artifact's embedded
// greedy-bos conformance hashes first ("anchor"): a weight changed after compile changes
// those logits.
//
// The run: initial adapter of initialAdapterState (rank --rank, lr 0.02 and seed 1, edgeq
// finetune's defaults), --steps steps of --seq-len positions. Tokens: the stream
// BOS, g1, g2, … of the model's own greedy continuation (argmax of the integer reference,
// runtime/reference/model.ts: deterministic, and needs no tokenizer); step k trains on
// stream[j·L .. j·L + L] (L + 1 tokens, L = --seq-len), j = k mod ⌊seq_len(model) / L⌋,
// so consecutive steps read consecutive windows and a run longer than the model's
// context cycles through them.
import { greedyConformance } from '../emit/from-quant.ts';
import { quantModelFromArtifact } from '../emit/quant-from-artifact.ts';
import { isBitPlane } from '../emit/dtype.ts';
import { EngineUnavailable, formatHash, readBundle, type Bundle, type Engine } from '../engines/engine.ts';
import { fileSha256, sha256 } from '../engines/cache.ts';
import { usesSimd } from '../engines/runtime-flavour.ts';
import { TRAIN_ENGINES, referenceTrainSelftest, runTrainEngine, trainSelftestWasm, type TrainEngineName } from '../engines/train-conformance.ts';
import { initialAdapterState } from '../train/int-reference.ts';
import { EdgeqError, usageError } from '../util/errors.ts';
import { TRAIN_LR, TRAIN_SEED, formatMatrix, judgeRun, type BundleVerdict, type EngineVerdict, type TrainAnchor, type TrainInfo, type VerifyReport } from './verify-report.ts';

export const TRAIN_EXPECTED_SOURCE = 'integer reference trainer (runtime/reference/train.ts), run now on the bundle\'s model.edgeq';
export const TRAIN_TOKENS_SOURCE = 'the model\'s greedy text from BOS (integer reference argmax), consecutive windows of seq-len + 1 tokens (cycling past the model\'s context)';

export interface TrainOptions { steps: number; rank: number; seqLen: number; timeoutMs?: number; log?: (s: string) => void }

/** A low-bit matrix anywhere in the model: the trainer reads an int8 base only. */
export function refuseLowBit(b: Bundle): void {
  const t = b.contents.tensors.find((x) => isBitPlane(x.dtype));
  if (t) {
    throw new EdgeqError(`verify --train: fine-tuning needs an int8 base, and this bundle's ${t.name} is ${t.dtype} (a low-bit plan); `
      + 'compile the model with --plan uniform:8 to verify training', { file: b.artifactPath });
  }
}

/** Can `edgeq verify --train` run this engine (v8-threads and wasm2c-*-threads cannot: training runs one thread)? */
export const hasTrainRunner = (e: Pick<Engine, 'name'>): boolean =>
  e.name === 'v8-simd' || e.name === 'v8-scalar' || (TRAIN_ENGINES as readonly string[]).includes(e.name);

/** Which training runner and module flavour stand for an `edgeq verify` engine. */
function trainRunner(e: Engine, b: Bundle): { name: TrainEngineName; simd: boolean } | null {
  if (!hasTrainRunner(e)) return null;
  if (e.name === 'v8-simd' || e.name === 'v8-scalar') return { name: 'v8', simd: e.name === 'v8-simd' };
  // As for inference: wasm-interp runs the bundle's own flavour, the C hosts and the
  // bare-metal image the scalar build.
  return { name: e.name as TrainEngineName, simd: e.name === 'wasm-interp' && usesSimd(b.runtimeWasm) };
}

function anchorOf(b: Bundle, hashes: bigint[]): TrainAnchor | null {
  const c = b.contents.conformance.find((x) => x.name === 'greedy-bos');
  if (!c || c.positions === 0) return null;
  const n = Math.min(c.positions, hashes.length);
  let matched = 0, first: TrainAnchor['firstMismatch'] = null;
  for (let p = 0; p < n; p++) {
    const want = BigInt.asUintN(64, c.outputHashes[p]);
    if (want === hashes[p]) matched++;
    else first ??= { position: p, expected: formatHash(want), got: formatHash(hashes[p]) };
  }
  return { case: 'greedy-bos', positions: n, matched, firstMismatch: first };
}

export async function verifyTrain(dirs: string[], engines: Engine[], opts: TrainOptions): Promise<VerifyReport> {
  const read = dirs.map((d) => readBundle(d));
  for (const b of read) {
    refuseLowBit(b);
    const S = b.contents.config.seqLen;
    if (opts.seqLen > S) throw usageError(`--seq-len ${opts.seqLen} is longer than the context of ${b.dir} (seq_len ${S})`);
  }
  const bundles: BundleVerdict[] = [];
  for (const b of read) {
    opts.log?.(`verify --train: integer reference on ${b.dir}...`);
    const t0 = performance.now();
    const m = quantModelFromArtifact(b.contents, b.artifactPath);
    const L = opts.seqLen, S = m.params.seqLen;
    const perContext = Math.floor(S / L);
    const embedded = b.contents.conformance.find((x) => x.name === 'greedy-bos')?.positions ?? 0;
    const g = greedyConformance(m, Math.max(Math.min(opts.steps, perContext) * L, embedded));
    const stream = [...g.tokens, g.argmax[g.argmax.length - 1]];
    const windows = Array.from({ length: opts.steps }, (_, k) => Int32Array.from(stream.slice((k % perContext) * L, (k % perContext) * L + L + 1)));
    const s0 = initialAdapterState(m.params, { rank: opts.rank, seqLen: L, lr: TRAIN_LR, seed: TRAIN_SEED }, new Uint8Array(Buffer.from(fileSha256(b.artifact), 'hex')));
    const st = referenceTrainSelftest(b.contents, m, s0, windows);
    const referenceMs = performance.now() - t0;
    const expected = st.expected.map((hash, i) => ({ caseName: 'train', position: i, hash }));

    const modules = new Map<boolean, { wasm: Uint8Array; simd: boolean; sha256: string; buildMs: number }>();
    const moduleOf = async (simd: boolean) => {
      let mod = modules.get(simd);
      if (!mod) {
        opts.log?.(`verify --train: building the ${simd ? 'SIMD' : 'scalar'} training module with the selftest...`);
        const t1 = performance.now();
        const wasm = await trainSelftestWasm(b.contents, st, simd);
        mod = { wasm, simd, sha256: sha256(wasm), buildMs: Math.round(performance.now() - t1) };
        modules.set(simd, mod);
      }
      return mod;
    };
    const verdicts: EngineVerdict[] = [];
    for (const e of engines) {
      const base: EngineVerdict = {
        engine: e.name, status: 'skipped', positions: opts.steps, matched: 0, firstMismatch: null,
        selftestMismatches: null, runtime: null, buildMs: null, runMs: null,
      };
      const runner = trainRunner(e, b);
      const why = runner ? e.available() : 'no training runner for this engine';
      if (why || !runner) { verdicts.push({ ...base, reason: why! }); continue; }
      opts.log?.(`verify --train: ${e.name} on ${b.dir}...`);
      const mod = await moduleOf(runner.simd);
      try {
        const r = await runTrainEngine(runner.name, b, mod.wasm, { timeoutMs: opts.timeoutMs });
        const runtime = { simd: mod.simd, sha256: mod.sha256, origin: `training runtime for this bundle (compiler/codegen/train-runtime.ts), ${mod.simd ? 'SIMD' : 'scalar'} build, selftest embedded; ${r.about}` };
        verdicts.push({ ...judgeRun(base, expected, { ...r, runtime }, 'step'), hashes: r.hashes.map((h) => formatHash(h.hash)) });
      } catch (err) {
        if (err instanceof EngineUnavailable) verdicts.push({ ...base, reason: err.message });
        else if (err instanceof EdgeqError) verdicts.push({ ...base, status: 'error', reason: err.message });
        else throw err;
      }
    }
    bundles.push({
      dir: b.dir, artifactSha256: fileSha256(b.artifact), runtimeSha256: fileSha256(b.runtimeWasm),
      expected: { source: TRAIN_EXPECTED_SOURCE, cases: [{ name: 'train', positions: opts.steps }], positions: opts.steps },
      engines: verdicts,
      train: {
        steps: opts.steps, rank: opts.rank, rPad: s0.rPad, seqLen: L, lr: TRAIN_LR, seed: TRAIN_SEED,
        tokens: { source: TRAIN_TOKENS_SOURCE, windows: windows.map((w) => Array.from(w)) },
        hashes: st.expected.map(formatHash), lossesQ16: st.losses,
        anchor: anchorOf(b, g.outputHashes.map((h) => BigInt.asUintN(64, h))),
        modules: [...modules.values()].map(({ simd, sha256: sha, buildMs }) => ({ simd, sha256: sha, buildMs })),
        referenceMs: Math.round(referenceMs),
      },
    });
  }
  const ok = bundles.every((b) => !b.train!.anchor?.firstMismatch && b.engines.every((e) => e.status === 'pass' || e.status === 'skipped'));
  return { ok, bundles };
}

/** The first thing wrong, for the exit-1 message: a failed anchor, or the first engine/step that differs. */
export function firstTrainFailure(r: VerifyReport): string | null {
  for (const [i, b] of r.bundles.entries()) {
    const a = b.train?.anchor?.firstMismatch;
    if (a) return `[${i + 1}] ${b.dir}: the integer reference does not reproduce the artifact's compile-time greedy-bos hash at position ${a.position} (model.edgeq changed after compile?)`;
    for (const e of b.engines) {
      if (e.status === 'fail' && e.firstMismatch) return `[${i + 1}] ${b.dir}: ${e.engine} differs from the integer reference at step ${e.firstMismatch.position}`;
      if (e.status !== 'pass' && e.status !== 'skipped') return `[${i + 1}] ${b.dir}: ${e.engine} ${e.status}: ${e.reason}`;
    }
  }
  return null;
}

export function formatTrainReport(r: VerifyReport): string {
  const lines: string[] = [];
  for (const [i, b] of r.bundles.entries()) {
    const t = b.train!;
    lines.push(`[${i + 1}] ${b.dir}: ${t.steps} training step(s), rank ${t.rank}, seq len ${t.seqLen}, lr ${t.lr}, seed ${t.seed}; artifact sha256 ${b.artifactSha256.slice(0, 16)}…`);
    lines.push(`    reference: ${t.hashes.map((h, k) => `step ${k} ${h} (loss ${(t.lossesQ16[k] / 65536 / t.seqLen).toFixed(4)})`).join(', ')}`);
    const a = t.anchor;
    lines.push(!a ? '    anchor: not checked (the artifact has no greedy-bos conformance vectors)'
      : a.firstMismatch ? `    anchor: ✗ the reference's greedy logits differ from the artifact's compile-time hash at position ${a.firstMismatch.position} (expected ${a.firstMismatch.expected}, got ${a.firstMismatch.got}): model.edgeq changed after compile?`
        : `    anchor: the reference reproduces the artifact's compile-time greedy-bos hashes (${a.matched}/${a.positions} positions)`);
  }
  lines.push(`tokens: ${TRAIN_TOKENS_SOURCE}`, `expected hashes: ${TRAIN_EXPECTED_SOURCE}`, '');
  return `${lines.join('\n')}\n${formatMatrix(r, 'step')}`;
}
