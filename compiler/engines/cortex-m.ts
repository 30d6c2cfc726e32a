// cortex-m: the bare-metal firmware (./firmware.ts) built with EQ_SELFTEST and no
// generation, booted on qemu-system-arm's MPS2 AN386 board (Cortex-M4, soft float).
// The board prints the same "selftest <pos> <hash>" lines as every C host through Arm
// semihosting and exits with the host's status (0 ok, 1 mismatch, 4 artifact rejected,
// 70 wasm trap, 99 hard fault).
import type { Bundle, Engine, EngineRun, EngineRunOptions } from './engine.ts';
import { parseSelftestLines } from './engine.ts';
import { bootFirmware, buildFirmware, firmwareToolsMissing } from './firmware.ts';
import { runtimeFlavour } from './runtime-flavour.ts';
import { EdgeqError } from '../util/errors.ts';

export const BOARD = 'mps2-an386';

export const engine: Engine = {
  name: 'cortex-m',
  about: `bare-metal Cortex-M4 image (wasm2c → arm-none-eabi-gcc, soft float) on qemu-system-arm -M ${BOARD}`,
  available: () => firmwareToolsMissing(true),
  async run(bundle: Bundle, opts: EngineRunOptions = {}): Promise<EngineRun> {
    const t0 = performance.now();
    const rt = await runtimeFlavour(bundle, false);
    const fw = await buildFirmware(rt.wasm, bundle.artifact, { selftest: true, steps: 0 });
    const t1 = performance.now();
    const timeoutMs = opts.timeoutMs ?? 600_000;
    const r = await bootFirmware(fw.elf, BOARD, timeoutMs);
    if (r.timedOut) throw new EdgeqError(`cortex-m: the board did not exit within ${timeoutMs / 1000} s`);
    const mm = /^selftest mismatches (\d+)$/m.exec(r.stdout);
    if (!mm || (r.status !== 0 && r.status !== 1)) {
      throw new EdgeqError(`cortex-m: the board exited ${r.status ?? r.signal}: ${`${r.stdout}${r.stderr}`.trim().split('\n').slice(-3).join(' | ')}`);
    }
    return {
      hashes: parseSelftestLines(r.stdout), mismatches: Number(mm[1]),
      runtime: { simd: false, sha256: rt.sha256, origin: rt.origin },
      buildMs: t1 - t0, runMs: r.ms,
    };
  },
};
