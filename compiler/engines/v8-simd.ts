// v8-simd: the runtime's SIMD build on V8 (Node). See ./v8.ts.
import { v8Engine } from './v8.ts';

export const engine = v8Engine(true);
