// Runs the edgeq CLI in this process (no new node + tsx start-up per call), capturing
// what it writes to stdout and stderr and the exit status main() returns.
import { main } from '../../compiler/cli/main.ts';

export interface CliResult { status: number; stdout: string; stderr: string }

export async function cli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const out: Buffer[] = [], err: Buffer[] = [];
  const grab = (into: Buffer[]) => ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    into.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk));
    const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    cb?.();
    return true;
  }) as typeof process.stdout.write;
  const ow = process.stdout.write, ew = process.stderr.write;
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  process.stdout.write = grab(out);
  process.stderr.write = grab(err);
  let status: number;
  try {
    status = await main(args);
  } finally {
    process.stdout.write = ow;
    process.stderr.write = ew;
    for (const [k, v] of Object.entries(saved)) { if (v === undefined) delete process.env[k]; else process.env[k] = v; }
  }
  return { status, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}
