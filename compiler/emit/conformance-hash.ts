// The conformance hash (schemas/edgeq.fbs, HashKind.fnv1a64): 64-bit FNV-1a over the
// bytes of a step's output. The runtime computes the same in runtime/assembly/hash.ts.
//
// Done on two 32-bit halves instead of BigInt per byte (a 32000-logit step is 128 KB):
// the prime is 2^40 + 0x1b3, so h * prime = h * 0x1b3 + (h << 40).
export function fnv1a64(bytes: Uint8Array): bigint {
  let hi = 0xcbf29ce4, lo = 0x84222325;
  for (let i = 0; i < bytes.length; i++) {
    lo = (lo ^ bytes[i]) >>> 0;
    const t = lo * 0x1b3; // < 2^41: exact in a double
    const carry = Math.floor(t / 0x100000000);
    hi = (Math.imul(hi, 0x1b3) + carry + ((lo << 8) >>> 0)) >>> 0;
    lo = t >>> 0;
  }
  return (BigInt(hi) << 32n) | BigInt(lo);
}
