// The tokenizer embedded in an artifact (`edgeq compile --tokenizer`) as a Tokenizer: one
// definition for the CLI (compiler/engines/bundle.ts) and the JavaScript API
// (compiler/api/), which has no files to read a tokenizer.bin from.
import type { ArtifactTokenizer } from '../emit/artifact-contents.ts';
import { Tokenizer } from './tokenizer.ts';

export function artifactTokenizer(t: ArtifactTokenizer): Tokenizer {
  // Host scores are the tokenizer.bin floats when the compiler kept them; else the fixed-point ones.
  const scores = t.hostScores.length ? Float32Array.from(t.hostScores) : Float32Array.from(t.scores, (s) => s / 2 ** t.scoreFracBits);
  return new Tokenizer(t.pieces, scores, t.maxTokenLength);
}
