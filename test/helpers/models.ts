// Where the real trained checkpoints live (never copied into the project).
// In CI they must be present: a missing models folder fails the suite instead of
// silently skipping the quality tests.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
export const MODELS = process.env.EDGEQ_MODELS ?? resolve(ROOT, '../shared/models');
export const haveModels = existsSync(join(MODELS, 'stories260K.bin'));
if (!haveModels && process.env.CI) throw new Error(`CI: real models not found at ${MODELS}`);

export const model = (name: string): string => join(MODELS, name);
