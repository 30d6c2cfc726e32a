// The committed generated code must be exactly what `npm run gen:schema` produces from
// the committed schemas: regenerate into a temp dir and compare file lists and bytes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { GENERATED_DIRS, ROOT, generateSchemaFiles, listFiles, writeSchemaFiles } from '../scripts/gen-schema.ts';

test('schemas/generated and runtime/assembly/generated are fresh (run npm run gen:schema)', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'edgeq-schema-'));
  try {
    await writeSchemaFiles(tmp, ROOT);
    for (const dir of GENERATED_DIRS) {
      const want = listFiles(join(tmp, dir)).map((f) => relative(tmp, f));
      const have = listFiles(join(ROOT, dir)).map((f) => relative(ROOT, f));
      assert.equal(have, want, `${dir}: committed file list differs from a fresh generation`);
      for (const f of want) {
        const fresh = readFileSync(join(tmp, f), 'utf8');
        assert.ok(readFileSync(join(ROOT, f), 'utf8') === fresh, `${f} is stale: run npm run gen:schema`);
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('generation is deterministic (two runs, same bytes)', async () => {
  const a = await generateSchemaFiles();
  const b = await generateSchemaFiles();
  assert.equal([...a.entries()], [...b.entries()]);
});

test.run();
