import { readFileSync } from 'node:fs';

/** The compiler's version, from package.json; recorded in every artifact and manifest. */
export const VERSION: string = JSON.parse(
  readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
).version;
