// Where a bundle's instructions per token go on AArch64 or RISC-V (issue 17): builds the
// synthetic bundle `npm run bench -- devices` measures (bench/devices.bench.ts deviceBundle),
// its wasm2c host for the ISA, counts every guest block's executions under qemu-user
// (bench/devices/insn-count.c in its blocks= mode) over n1 and n2 generated tokens, and
// prints the difference per token by function (the host's symbols, via `nm`) and the
// hottest blocks, whose code `objdump -d --start-address=<addr>` shows. How the AArch64
// 4-bit count went from 283M to 115M per token (docs/engines.md).
//
//   node --import tsx scripts/insn-profile.ts [--shape stories110M] [--plan 4-bit]
//     [--arch aarch64|riscv64] [--build simd|scalar] [--top 12] [--tokens 1,3]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { deviceBundle, PLANS } from '../bench/devices.bench.ts';
import { blocksPerToken } from '../bench/devices/insn-count.ts';
import { buildLinuxHost, type LinuxArch } from '../compiler/engines/wasm2c.ts';
import { arch as aarch64 } from '../compiler/engines/wasm2c-aarch64.ts';
import { arch as riscv64 } from '../compiler/engines/wasm2c-riscv64.ts';
import { quantizeInt8 } from '../compiler/quantize/int8.ts';
import { SHAPES, synthWeights, type ShapeName } from '../compiler/synth/synth.ts';

const ARCHES: Record<string, LinuxArch> = { aarch64, riscv64 };
const { values: o } = parseArgs({
  options: {
    shape: { type: 'string', default: 'stories110M' }, plan: { type: 'string', default: '4-bit' },
    arch: { type: 'string', default: 'aarch64' }, build: { type: 'string', default: 'simd' },
    top: { type: 'string', default: '12' }, tokens: { type: 'string', default: '1,3' }, help: { type: 'boolean', short: 'h' },
  },
});
const fail = (msg: string): never => { console.error(`insn-profile: ${msg}`); process.exit(2); };
if (o.help) {
  console.log(`usage: node --import tsx scripts/insn-profile.ts [--shape ${Object.keys(SHAPES).join('|')}] [--plan ${PLANS.map((p) => `'${p.label}'`).join('|')}]
  [--arch aarch64|riscv64] [--build simd|scalar] [--top N] [--tokens n1,n2]`);
  process.exit(0);
}
const shape = o.shape as ShapeName;
if (!SHAPES[shape]) fail(`unknown shape ${o.shape} (one of ${Object.keys(SHAPES).join(', ')})`);
const plan = PLANS.find((p) => p.label === o.plan) ?? fail(`unknown plan ${o.plan} (one of ${PLANS.map((p) => p.label).join(', ')})`);
const arch = ARCHES[o.arch!] ?? fail(`unknown arch ${o.arch} (aarch64 or riscv64)`);
if (o.build !== 'simd' && o.build !== 'scalar') fail(`--build must be simd or scalar, got ${o.build}`);
const [n1, n2] = o.tokens!.split(',').map(Number);
if (!(n1 >= 0 && n2 > n1)) fail(`--tokens needs n1,n2 with n2 > n1 >= 0, got ${o.tokens}`);
const top = Number(o.top);

const dir = mkdtempSync(join(tmpdir(), 'edgeq-insn-profile-'));
try {
  console.error(`building the ${shape} ${plan.label} bundle and its ${o.build} host for ${arch.name}...`);
  const { builds } = await deviceBundle(quantizeInt8(synthWeights({ ...SHAPES[shape] }, 1)), shape, plan, dir);
  const build = o.build === 'simd' ? builds.SIMD : builds.scalar;
  const exe = join((await buildLinuxHost(arch, build.wasm, `wasm2c-${arch.name}`, o.build === 'simd')).dir, 'edgeq-host');
  console.error(`counting ${n1} and ${n2} tokens under ${arch.emulator}...`);
  const blocks = await blocksPerToken(arch.emulator!, [], exe, (n) => [build.artifact, 'bench', String(n)], n1, n2);

  // Function of each block: the nearest text symbol at or below its address.
  const nm = spawnSync('nm', ['-n', exe], { encoding: 'utf8' });
  if (nm.status !== 0) fail(`nm ${exe}: ${nm.stderr}`);
  const syms = nm.stdout.split('\n').map((l) => l.split(' ')).filter((p) => p.length === 3 && /^[tTwW]$/.test(p[1])).map((p) => ({ at: parseInt(p[0], 16), name: p[2] }));
  const symbolOf = (a: number): string => {
    let lo = 0, hi = syms.length - 1, best = '?';
    while (lo <= hi) { const mid = (lo + hi) >> 1; if (syms[mid].at <= a) { best = syms[mid].name; lo = mid + 1; } else hi = mid - 1; }
    return best;
  };
  const byFn = new Map<string, number>();
  let total = 0;
  for (const [a, b] of blocks) { byFn.set(symbolOf(a), (byFn.get(symbolOf(a)) ?? 0) + b.insns); total += b.insns; }
  const m = (x: number) => `${(x / 1e6).toFixed(1).padStart(8)}M`;
  console.log(`${shape} ${plan.label}, ${o.build} build, ${arch.name}: ${m(total).trim()} instructions per token\n\nby function:`);
  for (const [name, v] of [...byFn].sort((x, y) => y[1] - x[1]).slice(0, top)) console.log(`${m(v)} ${(100 * v / total).toFixed(1).padStart(5)}%  ${name}`);
  console.log('\nhottest blocks (address, instructions per execution, executions per token):');
  for (const [a, b] of [...blocks].sort((x, y) => y[1].insns - x[1].insns).slice(0, top)) {
    console.log(`${m(b.insns)}  0x${a.toString(16)}  ${String(b.len).padStart(3)} × ${Math.round(b.runs)}  ${symbolOf(a)}`);
  }
  console.log(`\nthe code: ${arch.cc.replace(/gcc$/, 'objdump')} -d --start-address=0x<addr> --stop-address=0x<addr+4·len> ${exe}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
