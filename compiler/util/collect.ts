// A full garbage collection on request, for the few points where a large amount of memory
// has just become garbage and the peak comes next (compiler/bundle.ts: the quantized
// weights, once moved into the artifact). V8 would collect them only later, after the
// peak. bin/edgeq.mjs provides the function (V8's gc, exposed for contexts made after
// startup); elsewhere (tests, the API in someone else's process) this does nothing.

/** Collects garbage now if the process offers it (edgeqCollectGarbage); else a no-op. */
export function collectGarbage(): void {
  (globalThis as { edgeqCollectGarbage?: () => void }).edgeqCollectGarbage?.();
}
