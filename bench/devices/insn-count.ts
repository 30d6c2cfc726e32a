// Instructions per generated token under qemu-user: a device-speed measure that holds
// under emulation (wall time under TCG says little about a real board). The TCG plugin
// ./insn-count.c counts every guest instruction the process retires; the cost of one
// token is the difference between two runs that generate n1 and n2 tokens, divided by
// n2 - n1, so loading, hashing and set-up cancel out.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cachedBuild, sha256 } from '../../compiler/engines/cache.ts';
import { runStreaming, tool } from '../../compiler/engines/proc.ts';

const SOURCE = join(import.meta.dirname, 'insn-count.c');

/** The plugin, built with the host gcc and cached by its source. */
export async function insnPlugin(): Promise<string> {
  const src = readFileSync(SOURCE);
  const gcc = tool('gcc', ['--version']).stdout.split('\n')[0];
  const { dir } = await cachedBuild(sha256('qemu-insn-count', gcc, src), (tmp) => {
    tool('gcc', ['-O2', '-shared', '-fPIC', '-fvisibility=hidden', SOURCE, '-o', join(tmp, 'insn-count.so')], { what: 'qemu insn-count plugin build' });
  });
  return join(dir, 'insn-count.so');
}

/** Guest instructions retired by `emulator program args...` (throws when it fails). */
export async function countInsns(emulator: string, qemuArgs: string[], program: string, args: string[], timeoutMs = 1_800_000): Promise<number> {
  const plugin = await insnPlugin();
  const tmp = mkdtempSync(join(tmpdir(), 'edgeq-insn-'));
  try {
    const log = join(tmp, 'qemu.log');
    const r = await runStreaming(emulator, ['-plugin', plugin, '-d', 'plugin', '-D', log, ...qemuArgs, program, ...args], { timeoutMs });
    if (r.timedOut) throw new Error(`${emulator} ${program}: did not finish within ${timeoutMs / 1000} s`);
    if (r.status !== 0) throw new Error(`${emulator} ${program} ${args.join(' ')}: exit ${r.status ?? r.signal}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
    const m = /^insn-count (\d+)$/m.exec(readFileSync(log, 'utf8'));
    if (!m) throw new Error(`${emulator}: the insn-count plugin printed no count`);
    return Number(m[1]);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * Instructions per token: `argsFor(n)` are the program's arguments for n generated tokens;
 * the runs for n1 and n2 tokens are subtracted.
 */
export async function insnsPerToken(emulator: string, qemuArgs: string[], program: string, argsFor: (n: number) => string[], n1: number, n2: number): Promise<number> {
  const a = await countInsns(emulator, qemuArgs, program, argsFor(n1));
  const b = await countInsns(emulator, qemuArgs, program, argsFor(n2));
  if (b <= a) throw new Error(`${program}: ${n2} tokens retired no more instructions than ${n1} (${b} <= ${a}): did generation stop early?`);
  return (b - a) / (n2 - n1);
}
