// A stories260K int8 bundle for the conformance tests, built once per machine and cached
// (by the content of everything that goes into it) under $EDGEQ_CACHE/test-bundles:
// `edgeq compile` when the command exists, else the same pipeline through the APIs
// (import → quantize int8 → lower → emit → codegen).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { cacheRoot } from '../../compiler/engines/cache.ts';
import { ROOT, model } from './models.ts';

/** Hash of every source file that can change a bundle's bytes. */
export function sourcesHash(): string {
  const h = createHash('sha256');
  const walk = (dir: string) => {
    for (const n of readdirSync(join(ROOT, dir)).sort()) {
      const rel = `${dir}/${n}`;
      if (statSync(join(ROOT, rel)).isDirectory()) walk(rel);
      else if (n.endsWith('.ts') || n.endsWith('.json') || n.endsWith('.fbs')) h.update(rel).update(readFileSync(join(ROOT, rel)));
    }
  };
  for (const d of ['compiler/import', 'compiler/quantize', 'compiler/lower', 'compiler/emit', 'compiler/codegen', 'compiler/cli/commands', 'runtime', 'schemas', 'targets']) {
    if (existsSync(join(ROOT, d))) walk(d);
  }
  return h.digest('hex').slice(0, 24);
}

/**
 * A stories260K bundle compiled for `target` with `positions` conformance vectors (and a
 * `--kv` cache format when given). Returns its directory (shared between test files; never
 * modify it, copy it).
 */
export async function stories260KBundle(target = 'wasm32', positions = 16, plan = 'uniform:8', kv?: string): Promise<string> {
  const planKey = plan === 'uniform:8' ? 'int8' : plan.replace(/[^\w]/g, '_');
  const key = `stories260K-${planKey}${kv ? `-kv_${kv.replace(/[^\w]/g, '_')}` : ''}-${target}-${positions}-${sourcesHash()}`;
  const dir = join(cacheRoot(), 'test-bundles', key);
  if (existsSync(join(dir, 'runtime.wasm'))) return dir;
  const tmp = `${dir}.${process.pid}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  if (existsSync(join(ROOT, 'compiler/cli/commands/compile.ts'))) {
    const r = spawnSync(process.execPath, ['bin/edgeq.mjs', 'compile', model('stories260K.bin'), '--tokenizer', model('tok512.bin'),
      '--target', target, '--plan', plan, ...(kv ? ['--kv', kv] : []), '--vectors', String(positions), '-o', tmp], { cwd: ROOT, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`edgeq compile failed (${r.status}): ${r.stderr}`);
  } else {
    if (plan !== 'uniform:8' || kv) throw new Error(`test bundle with plan ${plan}${kv ? ` and --kv ${kv}` : ''} needs edgeq compile`);
    const { openModel } = await import('../../compiler/import/open-model.ts');
    const { loadWeights } = await import('../../compiler/import/graph.ts');
    const { Tokenizer } = await import('../../compiler/import/tokenizer.ts');
    const { quantizeInt8 } = await import('../../compiler/quantize/int8.ts');
    const { lowerInt8 } = await import('../../compiler/lower/program.ts');
    const { emitArtifact } = await import('../../compiler/emit/from-quant.ts');
    const { buildRuntime } = await import('../../compiler/codegen/runtime.ts');
    const { loadTarget } = await import('../../compiler/target/profile.ts');
    const { readArtifact } = await import('../../compiler/emit/artifact-read.ts');
    const t = loadTarget(target);
    const ckpt = model('stories260K.bin');
    const q = quantizeInt8(loadWeights(openModel(ckpt)));
    const program = lowerInt8(q);
    const art = emitArtifact({
      model: q, program, target: { name: t.name, simd: t.simd }, plan: { kind: 'uniform', bits: 8 },
      tokenizer: Tokenizer.load(model('tok512.bin')), sourceSha256: createHash('sha256').update(readFileSync(ckpt)).digest(),
      sourcePath: ckpt, vectors: positions,
    });
    const c = readArtifact(art);
    const rt = await buildRuntime(c.config, c.program, { name: t.name, simd: t.simd });
    writeFileSync(join(tmp, 'model.edgeq'), art);
    writeFileSync(join(tmp, 'runtime.wasm'), rt.wasm);
    writeFileSync(join(tmp, 'manifest.json'), JSON.stringify({ target: t.name, note: 'built by test/helpers/bundle.ts' }, null, 2));
  }
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return dir;
}

/**
 * After a test changed model.edgeq or runtime.wasm on purpose (to reach a check behind the
 * integrity check): make the copy's manifest.json list their new sha256 and size, as if
 * edgeq compile had written them.
 */
export function restampManifest(dir: string): void {
  const mp = join(dir, 'manifest.json');
  if (!existsSync(mp)) return;
  const m = JSON.parse(readFileSync(mp, 'utf8'));
  for (const name of ['model.edgeq', 'runtime.wasm']) {
    if (!m.files?.[name] || !existsSync(join(dir, name))) continue;
    const bytes = readFileSync(join(dir, name));
    m.files[name] = { ...m.files[name], size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
  }
  writeFileSync(mp, JSON.stringify(m, null, 2) + '\n');
}
