// Placing test inputs in a compiled kernel module's memory (the port tests of
// test/gse.test.ts and test/train-kernels-port.test.ts): arrays are copied after
// __heap_base, each 16-byte aligned, growing memory as needed.

export interface PlaceableModule { memory: WebAssembly.Memory; heapBase(): number }

/** Copies arrays into wasm memory (16-byte aligned) and returns their addresses. */
export function place(ex: PlaceableModule, arrays: ArrayBufferView[]): number[] {
  let top = (ex.heapBase() + 15) & ~15;
  const addrs = arrays.map((a) => { const p = top; top = (top + a.byteLength + 15) & ~15; return p; });
  const need = top - ex.memory.buffer.byteLength;
  if (need > 0) ex.memory.grow(Math.ceil(need / 65536));
  const mem = new Uint8Array(ex.memory.buffer);
  arrays.forEach((a, i) => mem.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), addrs[i]));
  return addrs;
}
