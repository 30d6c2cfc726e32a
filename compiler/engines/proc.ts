// Running the external tools (wasm2c, gcc, qemu, wasm-interp) with a time limit, and
// finding them on PATH. Emulated runs can hang on a broken image; every call is bounded.
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { EdgeqError } from '../util/errors.ts';

/** Absolute path of `tool` on PATH, or null. */
export function which(tool: string): string | null {
  for (const d of (process.env.PATH ?? '').split(delimiter)) {
    if (!d) continue;
    const p = join(d, tool);
    try { accessSync(p, constants.X_OK); return p; } catch { /* next */ }
  }
  return null;
}

/** null when every tool is on PATH, else "missing <tool> (Debian package <pkg>)". */
export function missingTools(tools: Array<[tool: string, pkg: string]>): string | null {
  const missing = tools.filter(([t]) => !which(t));
  if (missing.length === 0) return null;
  return `missing ${missing.map(([t, p]) => `${t} (Debian package ${p})`).join(', ')}; scripts/setup-deps.sh installs them`;
}

export interface ToolResult { status: number | null; signal: string | null; stdout: string; stderr: string; ms: number; timedOut: boolean }

/** Runs a build step; throws an EdgeqError with its stderr when it fails. */
export function tool(cmd: string, args: string[], opts: { cwd?: string; timeoutMs?: number; what?: string } = {}): ToolResult {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { cwd: opts.cwd, encoding: 'utf8', timeout: opts.timeoutMs ?? 600_000, maxBuffer: 256 << 20 });
  const res: ToolResult = {
    status: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '', ms: performance.now() - t0,
    timedOut: (r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT',
  };
  if (r.error && !res.timedOut) throw new EdgeqError(`${opts.what ?? cmd}: cannot run ${cmd}: ${r.error.message}`);
  if (res.timedOut) throw new EdgeqError(`${opts.what ?? cmd}: ${cmd} did not finish within ${(opts.timeoutMs ?? 600_000) / 1000} s`);
  if (res.status !== 0) {
    throw new EdgeqError(`${opts.what ?? cmd} failed (${cmd} exit ${res.status ?? res.signal}):\n${`${res.stderr}${res.stdout}`.trim().split('\n').slice(0, 30).join('\n')}`);
  }
  return res;
}

/**
 * Runs a program to completion (or until `timeoutMs`, then kills it), streaming its stdout
 * to `onStdout` as it comes. Never throws for a non-zero exit: the caller decides.
 */
/** runStreaming's child is ended (SIGTERM) when `onStdout` returns false: the reader needs no more. */
export function runStreaming(cmd: string, args: string[], opts: { cwd?: string; timeoutMs: number; onStdout?: (chunk: Buffer) => void | boolean }): Promise<ToolResult> {
  return new Promise((resolvePromise, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [], err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, opts.timeoutMs);
    child.stdout.on('data', (b: Buffer) => { out.push(b); if (opts.onStdout?.(b) === false) child.kill('SIGTERM'); });
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => { clearTimeout(timer); reject(new EdgeqError(`cannot run ${cmd}: ${e.message}`)); });
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolvePromise({
        status, signal, timedOut, ms: performance.now() - t0,
        stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'),
      });
    });
  });
}
