// wasm2c-x86_64: the scalar runtime through wasm2c, gcc, run natively. See ./wasm2c.ts.
import { wasm2cEngine } from './wasm2c.ts';

export const engine = wasm2cEngine({ name: 'x86_64', cc: 'gcc', ccPackage: 'gcc', flags: [] });
