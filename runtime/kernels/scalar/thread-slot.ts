// Which copy of a kernel's static scratch the calling thread uses. Every build runs one
// thread — slot 0, a constant, so scratch addresses fold to what they were — except the
// threaded flavour, whose generator (compiler/codegen/threads.ts) compiles a replacement
// of this file in which each instance over the shared memory sets its own slot: threads
// then never share a scratch buffer (runtime/assembly/threads.ts).
export const THREAD_SLOTS: i32 = 1;

// @ts-ignore: decorator
@inline export function threadSlot(): usize { return 0; }
