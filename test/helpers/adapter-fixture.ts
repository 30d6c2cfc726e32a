// Adapter states for tests, built here from a formula (not by the code under test): every
// value is a function of (step, salt, tensor index, element index), so a test can check
// that what it read back is exactly the state with that step. Also used by the child
// process of the kill-during-save test.
import type { AdapterState, AdapterTensor } from '../../compiler/train/trainer.ts';

export interface FixtureShape { dim: number; kvDim: number; nLayers: number; rank: number; targets?: string[] }

const PARTS = ['lora_a', 'lora_a.momentum', 'lora_b', 'lora_b.momentum'];

/** A valid state: canonical tensor order, zero padding, every field set. */
export function fixtureState(shape: FixtureShape, step = 0, salt = 1): AdapterState {
  const { dim, kvDim, nLayers, rank } = shape;
  const targets = shape.targets ?? ['wq', 'wv'];
  const rPad = Math.ceil(rank / 16) * 16;
  const tensors: AdapterTensor[] = [];
  let k = 0;
  for (let l = 0; l < nLayers; l++) {
    for (const t of targets) {
      const dout = t === 'wv' || t === 'wk' ? kvDim : dim;
      for (const p of PARTS) {
        const isA = p.startsWith('lora_a');
        const [rows, cols] = isA ? [rPad, dim] : [dout, rPad];
        const data = new Int32Array(rows * cols);
        for (let r = 0; r < rows; r++) {
          for (let c = 0; c < cols; c++) {
            if ((isA ? r : c) >= rank) continue; // padding stays 0
            const i = r * cols + c;
            data[i] = Math.imul(i + 1, 0x9e3779b1) ^ Math.imul(k + 7, 0x85ebca6b) ^ Math.imul(step + 3, salt * 0x27d4eb2f + 1);
          }
        }
        tensors.push({ name: `blocks.${l}.${t}.${p}`, shape: [rows, cols], data });
        k++;
      }
    }
  }
  const sha = new Uint8Array(32);
  for (let i = 0; i < 32; i++) sha[i] = (i * 31 + salt) & 255;
  return {
    baseSha256: sha, rank, rPad, targets, seqLen: 32, lr: 1e-3 * salt, lrM: 16777 + step, lrE: 29,
    momentumShift: 3, gseG: 16, gseM: 8, seed: 42 + salt, step,
    rngLo: -123456789 + step, rngHi: 0x7edcba98, tensors,
  };
}
