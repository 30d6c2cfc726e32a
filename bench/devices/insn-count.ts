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

/** One translated block that ran: guest address, instructions, executions. */
export interface BlockCount { vaddr: number; insns: number; runs: number }

/**
 * Guest instructions retired by `emulator program args...` (throws when it fails); with
 * `blocks`, also every block's executions (the plugin's blocks= mode, ./insn-count.c).
 */
export async function countInsns(emulator: string, qemuArgs: string[], program: string, args: string[], timeoutMs = 1_800_000, blocks?: BlockCount[]): Promise<number> {
  const plugin = await insnPlugin();
  const tmp = mkdtempSync(join(tmpdir(), 'edgeq-insn-'));
  try {
    const log = join(tmp, 'qemu.log'), blocksFile = join(tmp, 'blocks.txt');
    const r = await runStreaming(emulator, ['-plugin', blocks ? `${plugin},blocks=${blocksFile}` : plugin, '-d', 'plugin', '-D', log, ...qemuArgs, program, ...args], { timeoutMs });
    if (r.timedOut) throw new Error(`${emulator} ${program}: did not finish within ${timeoutMs / 1000} s`);
    if (r.status !== 0) throw new Error(`${emulator} ${program} ${args.join(' ')}: exit ${r.status ?? r.signal}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
    const m = /^insn-count (\d+)$/m.exec(readFileSync(log, 'utf8'));
    if (!m) throw new Error(`${emulator}: the insn-count plugin printed no count`);
    if (blocks) {
      for (const line of readFileSync(blocksFile, 'utf8').split('\n')) {
        const [a, n, runs] = line.split(' ');
        if (runs) blocks.push({ vaddr: parseInt(a, 16), insns: Number(n), runs: Number(runs) });
      }
    }
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

/**
 * Where a token's instructions go: per guest block (by address), instructions per token
 * and executions per token, the difference of the n1- and n2-token runs as insnsPerToken.
 */
export async function blocksPerToken(emulator: string, qemuArgs: string[], program: string, argsFor: (n: number) => string[], n1: number, n2: number): Promise<Map<number, { insns: number; runs: number; len: number }>> {
  const a: BlockCount[] = [], b: BlockCount[] = [];
  await countInsns(emulator, qemuArgs, program, argsFor(n1), undefined, a);
  await countInsns(emulator, qemuArgs, program, argsFor(n2), undefined, b);
  const out = new Map<number, { insns: number; runs: number; len: number }>();
  const add = (list: BlockCount[], sign: number) => {
    for (const k of list) {
      const e = out.get(k.vaddr) ?? { insns: 0, runs: 0, len: k.insns };
      e.insns += (sign * k.insns * k.runs) / (n2 - n1);
      e.runs += (sign * k.runs) / (n2 - n1);
      out.set(k.vaddr, e);
    }
  };
  add(b, 1);
  add(a, -1);
  return out;
}
