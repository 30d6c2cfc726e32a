// A stand-in runtime.wasm implementing every export of docs/runtime-abi.md with trivial
// semantics, for testing engine plumbing (embedding, wasm2c hosts, firmware) apart from
// the real runtime: `forward` derives fake int32 logits from the artifact bytes, the token
// and the position (so a changed artifact byte changes every hash), and `selftest` checks
// positions 0..7 against nothing (it returns 0 mismatches).
import { compileAssemblyScript } from '../../compiler/codegen/asc.ts';

export const STUB_RUNTIME_SOURCE = `
@external("host", "print") declare function hostPrint(pos: i32, hash: i64): void;

const V: i32 = 16;
let art: usize = 0;
let artLen: i32 = 0;
let out: usize = 0;
let txt: usize = 0;
let artHash: u64 = 0;
let rng: u64 = 0x9E3779B97F4A7C15;

function fnv(p: usize, n: i32, h: u64): u64 {
  for (let i = 0; i < n; i++) { h ^= <u64>load<u8>(p + i); h *= 0x100000001b3; }
  return h;
}

function ensure(end: usize): bool {
  const need = <i32>((end + 0xffff) >>> 16) - memory.size();
  return need <= 0 || memory.grow(need) >= 0;
}

function place(ptr: usize, len: i32): bool {
  art = ptr; artLen = len;
  out = (ptr + <usize>len + 15) & ~(<usize>15);
  txt = out + <usize>(V * 4);
  return ensure(txt + 64);
}

export function reserve(len: i32): usize {
  const base = (__heap_base + 15) & ~(<usize>15);
  return place(base, len) ? base : 0;
}

function loadArtifact(len: i32): i32 {
  if (len != artLen) return 1;
  artHash = fnv(art, artLen, 0xcbf29ce484222325);
  return 0;
}

export function load_at(ptr: usize, len: i32): i32 {
  if (!place(ptr, len)) return 1;
  return loadArtifact(len);
}
export { loadArtifact as load };

export function forward(token: i32, pos: i32): i32 {
  if (token < 0 || token >= V) return 100;
  let h = artHash ^ (<u64>token << 32) ^ <u64>pos;
  for (let i = 0; i < V; i++) {
    h ^= h >> 33; h *= 0xff51afd7ed558ccd; h ^= h >> 29;
    store<i32>(out + (<usize>i << 2), <i32>h);
  }
  return 0;
}

export function logits(): usize { return out; }
export function logits_hash(): i64 { return <i64>fnv(out, V * 4, 0xcbf29ce484222325); }
export function argmax(): i32 {
  let best = 0;
  for (let i = 1; i < V; i++) if (load<i32>(out + (<usize>i << 2)) > load<i32>(out + (<usize>best << 2))) best = i;
  return best;
}
export function seed(lo: i32, hi: i32): void { rng = (<u64>hi << 32) | <u64><u32>lo; }
export function sample(t: i32, p: i32): i32 { rng ^= rng >> 12; rng ^= rng << 25; rng ^= rng >> 27; return <i32>(rng % <u64>V); }
export function decode(prev: i32, token: i32): i32 { store<u8>(txt, 97 + token); return 1; }
export function text(): usize { return txt; }

export function selftest(): i32 {
  let token = 1;
  for (let pos = 0; pos < 8; pos++) {
    forward(token, pos);
    hostPrint(pos, logits_hash());
    token = argmax();
  }
  return 0;
}
`;

let stub: Promise<Uint8Array<ArrayBuffer>> | undefined;
/** The stub runtime (scalar build), compiled once per process. */
export function compileStubRuntime(): Promise<Uint8Array<ArrayBuffer>> {
  stub ??= compileAssemblyScript({ entries: ['stub-runtime.ts'], sources: { 'stub-runtime.ts': STUB_RUNTIME_SOURCE } }).then((r) => r.wasm);
  return stub;
}
