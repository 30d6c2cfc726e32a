// Element access on raw linear-memory arrays, shared by the scalar kernels. The reference
// kernels (runtime/kernels/reference) index typed arrays; here an array is the address of
// its first element, and `a[i]` becomes `i32at(a, i)` (no bounds checks: the runtime's
// load() proved every range a kernel touches lies inside the artifact or the arena).

// @ts-ignore: decorator
@inline export function i8at(p: usize, i: i32): i32 { return <i32>load<i8>(p + <usize>i); }
// @ts-ignore: decorator
@inline export function i16at(p: usize, i: i32): i32 { return <i32>load<i16>(p + (<usize>i << 1)); }
// @ts-ignore: decorator
@inline export function i32at(p: usize, i: i32): i32 { return load<i32>(p + (<usize>i << 2)); }
// @ts-ignore: decorator
@inline export function set8(p: usize, i: i32, v: i32): void { store<i8>(p + <usize>i, <i8>v); }
// @ts-ignore: decorator
@inline export function set16(p: usize, i: i32, v: i32): void { store<i16>(p + (<usize>i << 1), <i16>v); }
// @ts-ignore: decorator
@inline export function set32(p: usize, i: i32, v: i32): void { store<i32>(p + (<usize>i << 2), v); }
