// How the threaded flavour's threads sleep and wake each other (runtime/assembly/threads.ts):
// here wasm's own memory.atomic.wait32 / memory.atomic.notify, which V8 implements. The
// wasm2c hosts get a replacement of this file from compiler/codegen/threads.ts that imports
// the two from the host instead (WABT 1.0.39's wasm2c cannot translate either instruction).
// Both return as soon as they can; callers re-check the value they wait on.

/** Sleeps while the i32 at `ptr` holds `expected` (or returns at once when it does not). */
// @ts-ignore: decorator
@inline export function waitWhile(ptr: usize, expected: i32): void { memory.atomic.wait32(ptr, expected, -1); }

/** Wakes up to `count` threads sleeping on `ptr` (-1: all of them). */
// @ts-ignore: decorator
@inline export function wake(ptr: usize, count: i32): void { atomic.notify(ptr, count); }
