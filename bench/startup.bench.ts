// CLI start-up as a user meets it (issue 12): wall seconds from spawning `node bin/edgeq.mjs`
// to its exit (--help) or to the first line it prints (compile). Each run is a fresh process,
// so the rate is starts per second (1 / seconds); the goal is compile --help < 1 s and the
// first line of a compile < 2 s on an idle 2-core machine. The compile is stopped after its
// first line (it writes only to a temporary directory, removed here).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { BenchCase, BenchSection } from './harness.ts';

const ROOT = resolve(import.meta.dirname, '..');
const MODELS = process.env.EDGEQ_MODELS ?? resolve(ROOT, '../shared/models');

/**
 * Seconds until `edgeq <args>` exits, or (firstLine) until it writes its first line to stderr.
 * Timed in a small plain-Node parent so that this process's own event loop does not matter.
 */
function startSeconds(args: string[], firstLine: boolean): number {
  const script = `
    import { spawn } from 'node:child_process';
    const t0 = performance.now();
    const c = spawn(process.execPath, ['bin/edgeq.mjs', ...${JSON.stringify(args)}], { stdio: ['ignore', 'ignore', 'pipe'] });
    let done = false;
    const finish = () => { if (done) return; done = true; console.log(((performance.now() - t0) / 1000).toFixed(4)); };
    ${firstLine ? "c.stderr.on('data', (d) => { if (String(d).includes('\\n')) { finish(); c.kill('SIGKILL'); } });" : "c.stderr.resume();"}
    c.on('exit', finish);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' });
  const s = Number(r.stdout.trim());
  if (r.status !== 0 || !(s > 0)) throw new Error(`startup bench: edgeq ${args.join(' ')} failed: ${r.stderr}`);
  return s;
}

const section: BenchSection = {
  id: 'startup',
  title: 'CLI start-up (fresh process each run; rate = 1 / wall seconds)',
  cases() {
    const out = mkdtempSync(join(tmpdir(), 'edgeq-bench-startup-'));
    process.on('exit', () => rmSync(out, { recursive: true, force: true }));
    const ckpt = join(MODELS, 'stories260K.bin');
    const c = (name: string, args: string[], firstLine: boolean): BenchCase =>
      ({ name, unit: 'starts/s', runs: 3, selfTimed: true, run: () => startSeconds(args, firstLine) });
    return [
      c('edgeq --help', ['--help'], false),
      c('edgeq compile --help', ['compile', '--help'], false),
      c('edgeq compile: first line', ['compile', ckpt, '--target', 'wasm32', '-o', join(out, 'b')], true),
      c('edgeq compile --bad-flag (usage error)', ['compile', '--bad-flag'], false),
    ];
  },
};
export default section;
