// Build outputs of the engines (wasm2c C sources, executables, firmware images), in a
// directory named by the SHA-256 of everything that went into them: the input bytes, the
// host sources, the tool and its flags. Same inputs, same directory: nothing is rebuilt.
// A build happens in a temporary sibling directory that is renamed into place only when
// it succeeded, so a crash or a failed compile never leaves a half-built entry behind.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** $EDGEQ_CACHE, else $XDG_CACHE_HOME/edgeq, else ~/.cache/edgeq. */
export function cacheRoot(): string {
  if (process.env.EDGEQ_CACHE) return process.env.EDGEQ_CACHE;
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'edgeq');
}

export function sha256(...parts: Array<Uint8Array | string>): string {
  const h = createHash('sha256');
  for (const p of parts) {
    const b = typeof p === 'string' ? Buffer.from(p, 'utf8') : p;
    h.update(String(b.length)).update(':').update(b);
  }
  return h.digest('hex');
}

/**
 * The directory for `key` under engines/; runs `build(tmpDir)` first when it does not
 * exist yet. Returns the directory and whether it was built now.
 */
export async function cachedBuild(key: string, build: (dir: string) => Promise<void> | void): Promise<{ dir: string; built: boolean }> {
  const base = join(cacheRoot(), 'engines');
  const dir = join(base, key);
  if (existsSync(join(dir, '.complete'))) return { dir, built: false };
  mkdirSync(base, { recursive: true });
  const tmp = join(base, `.${key}.${process.pid}.${Date.now()}.tmp`);
  mkdirSync(tmp);
  try {
    await build(tmp);
    writeFileSync(join(tmp, '.complete'), '');
    rmSync(dir, { recursive: true, force: true }); // an incomplete leftover, if any
    try {
      renameSync(tmp, dir);
    } catch (e) {
      // Another process finished the same build first: theirs is as good as ours.
      if (!existsSync(join(dir, '.complete'))) throw e;
      rmSync(tmp, { recursive: true, force: true });
    }
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  return { dir, built: true };
}

/** Plain SHA-256 of a file's bytes, hex (for reports and manifests). */
export function fileSha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
