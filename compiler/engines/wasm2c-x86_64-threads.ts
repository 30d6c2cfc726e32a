// wasm2c-x86_64-threads: the threaded flavour of the bundle's runtime build (SIMD when it is
// the SIMD build) in the Linux host with pthreads, natively. See ./wasm2c.ts.
import { arch } from './wasm2c-x86_64.ts';
import { wasm2cEngine } from './wasm2c.ts';

export const engine = wasm2cEngine(arch, 'threads');
