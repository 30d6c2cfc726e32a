// The conformance hash (schemas/edgeq.fbs, HashKind.fnv1a64): 64-bit FNV-1a over `len`
// bytes at `ptr`. compiler/emit/conformance-hash.ts is the host's copy.
export function fnv1a64(ptr: usize, len: usize): u64 {
  let h: u64 = 0xcbf29ce484222325;
  for (let i: usize = 0; i < len; i++) h = (h ^ <u64>load<u8>(ptr + i)) * 0x100000001b3;
  return h;
}
