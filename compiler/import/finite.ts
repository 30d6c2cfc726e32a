// The "every weight is a finite float32" check. A single NaN or infinity in a checkpoint
// poisons quantization scales (max |w| becomes Inf) and every logit downstream, and the
// integer runtime cannot represent it at all, so it is refused at the door with the
// tensor, element and byte offset of the first bad value.
import { EdgeqError } from '../util/errors.ts';
import type { Graph } from './graph.ts';

/** Index of the first NaN/±Inf in `a`, or -1. (x - x is 0 for finite x, NaN otherwise.) */
export function firstNonFinite(a: Float32Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] - a[i] !== 0) return i;
  return -1;
}

export function nonFiniteError(path: string, tensor: string, element: number, offset: number, value: number): EdgeqError {
  return new EdgeqError(`weight ${tensor}[${element}] is ${value} (non-finite float32); a checkpoint must hold finite values`,
    { file: path, offset });
}

/** Elements per streamed chunk: 4 MB, small next to any model, large enough to amortise a read. */
const CHUNK = 1 << 20;

export interface FiniteReport { tensors: number; values: number }

/**
 * Streams every tensor of `graph` (each stored tensor once; a shared wcls is the embedding)
 * and throws an EdgeqError at the first non-finite value. Memory use is one chunk.
 * `onProgress(done, total)` counts values.
 */
export function checkFinite(graph: Graph, onProgress?: (done: number, total: number) => void): FiniteReport {
  // A shared classifier's ref reuses the embedding's read function: check those bytes once.
  const seen = new Set<unknown>();
  const refs = [...graph.tensors.values()].filter((t) => !seen.has(t.read) && seen.add(t.read));
  const total = refs.reduce((s, t) => s + t.shape.reduce((a, b) => a * b, 1), 0);
  let done = 0;
  for (const t of refs) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (t.readRange) {
      // readRange validates what it returns (llama2c.ts), with element and byte offset.
      for (let s = 0; s < n; s += CHUNK) {
        const c = t.readRange(s, Math.min(CHUNK, n - s));
        const bad = firstNonFinite(c); // in-memory graphs may not validate on read
        if (bad >= 0) throw nonFiniteError(graph.source.path, t.name, s + bad, t.byteOffset + (s + bad) * 4, c[bad]);
        done += c.length;
        onProgress?.(done, total);
      }
    } else {
      const a = t.read();
      const bad = firstNonFinite(a);
      if (bad >= 0) throw nonFiniteError(graph.source.path, t.name, bad, t.byteOffset + bad * 4, a[bad]);
      done += n;
      onProgress?.(done, total);
    }
  }
  return { tensors: refs.length, values: total };
}
