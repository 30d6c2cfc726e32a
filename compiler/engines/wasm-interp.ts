// wasm-interp: WABT's reference interpreter running the embedded build (./embed.ts) of
// the bundle's own runtime (SIMD or scalar: the interpreter runs both). Only
// `selftest_embedded` is exported, so `--run-all-exports` calls exactly that, and
// `--host-print` provides host.print, whose calls it logs as
//   called host host.print(i32:<pos>, i64:<hash as unsigned decimal>) =>
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cachedBuild, sha256 } from './cache.ts';
import { embedArtifact } from './embed.ts';
import type { Bundle, Engine, EngineRun, EngineRunOptions, PositionHash } from './engine.ts';
import { runStreaming } from './proc.ts';
import { runtimeFlavour, usesSimd } from './runtime-flavour.ts';
import { wabtMissing, wabtTool } from './wabt.ts';
import { EdgeqError } from '../util/errors.ts';
import { VERSION } from '../version.ts';

export const engine: Engine = {
  name: 'wasm-interp',
  about: 'WABT wasm-interp (npm wabt, interpreter), the embedded build of the bundle\'s runtime',
  available: () => wabtMissing(),
  async run(bundle: Bundle, opts: EngineRunOptions = {}): Promise<EngineRun> {
    const t0 = performance.now();
    const rt = await runtimeFlavour(bundle, usesSimd(bundle.runtimeWasm));
    const key = sha256('wasm-interp-embedded', VERSION, rt.wasm, bundle.artifact, readFileSync(new URL(import.meta.resolve('./embed.ts'))));
    const { dir } = await cachedBuild(key, (tmp) => {
      writeFileSync(join(tmp, 'embedded.wasm'), embedArtifact(rt.wasm, bundle.artifact, { onlySelftestExport: true }).wasm);
    });
    const t1 = performance.now();
    const timeoutMs = opts.timeoutMs ?? 300_000;
    const interp = wabtTool('wasm-interp')!;
    const r = await runStreaming(interp.cmd, [...interp.args, '--host-print', '--run-all-exports', join(dir, 'embedded.wasm')], { timeoutMs });
    if (r.timedOut) throw new EdgeqError(`wasm-interp did not finish within ${timeoutMs / 1000} s`);
    const hashes: PositionHash[] = [];
    for (const m of r.stdout.matchAll(/^called host host\.print\(i32:(\d+), i64:(\d+)\)/gm)) {
      hashes.push({ position: Number(m[1]), hash: BigInt.asUintN(64, BigInt(m[2])) });
    }
    const res = /^selftest_embedded\(\) => i32:(-?\d+)$/m.exec(r.stdout);
    if (r.status !== 0 || !res) {
      throw new EdgeqError(`wasm-interp failed (exit ${r.status ?? r.signal}): ${`${r.stdout}${r.stderr}`.trim().split('\n').slice(-5).join(' | ')}`);
    }
    const code = Number(res[1]);
    if (code < 0) throw new EdgeqError(`the embedded runtime rejected the artifact (code ${-code})`);
    return {
      hashes, mismatches: code,
      runtime: { simd: rt.simd, sha256: rt.sha256, origin: rt.origin },
      buildMs: t1 - t0, runMs: r.ms,
    };
  },
};
