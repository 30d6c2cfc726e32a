// Does a bundle fit its target? Flash must hold the artifact and the runtime's code; RAM
// must hold the runtime's linear memory (the arena and KV cache, and on a hosted target the
// artifact, copied into it once) and a stack. On a board (host "baremetal") the artifact
// is read in place from flash (targets/hosts/baremetal/xip.h), so it takes no RAM. Checked by `edgeq compile` before anything is written,
// so a bundle that cannot run on its device is refused with the numbers, not shipped.
import type { TargetProfile } from './profile.ts';
import { EdgeqError } from '../util/errors.ts';
import { measureWasmMemory, STACK_BYTES } from '../engines/firmware.ts';

export interface BudgetUse {
  /** A lower bound: the artifact and runtime.wasm as they are (native code is usually larger). */
  flashBytes: number;
  /** Linear memory after loading and one step, plus the stack allowance. */
  ramBytes: number;
}

const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;

export async function bundleBudgetUse(artifact: Uint8Array, runtimeWasm: Uint8Array, t?: TargetProfile): Promise<BudgetUse> {
  const inPlace = t?.host === 'baremetal' ? artifact.length : 0;
  return {
    flashBytes: artifact.length + runtimeWasm.length,
    ramBytes: (await measureWasmMemory(runtimeWasm, artifact)) - inPlace + STACK_BYTES,
  };
}

/** Throws an EdgeqError naming every budget the bundle exceeds, and by how much. */
export async function checkTargetBudget(artifact: Uint8Array, runtimeWasm: Uint8Array, t: TargetProfile): Promise<BudgetUse | null> {
  if (t.flashBytes === null && t.ramBytes === null) return null;
  const use = await bundleBudgetUse(artifact, runtimeWasm, t);
  const over: string[] = [];
  if (t.flashBytes !== null && use.flashBytes > t.flashBytes) {
    over.push(`flash needs at least ${use.flashBytes} bytes (${kib(use.flashBytes)}: model.edgeq ${artifact.length} + runtime.wasm ${runtimeWasm.length}) ` +
      `but ${t.name} has ${t.flashBytes} (${kib(t.flashBytes)}), ${use.flashBytes - t.flashBytes} bytes over`);
  }
  if (t.ramBytes !== null && use.ramBytes > t.ramBytes) {
    over.push(`RAM needs ${use.ramBytes} bytes (${kib(use.ramBytes)}: wasm memory ${use.ramBytes - STACK_BYTES}${t.host === 'baremetal' ? ' less the weights, read in place from flash,' : ''} + stack ${STACK_BYTES}) ` +
      `but ${t.name} has ${t.ramBytes} (${kib(t.ramBytes)}), ${use.ramBytes - t.ramBytes} bytes over`);
  }
  if (over.length) throw new EdgeqError(`the bundle does not fit target ${t.name}: ${over.join('; ')}. Use a lower-bit --plan or a larger target.`);
  return use;
}
