// `edgeq keygen`: an Ed25519 key pair for signing bundles.
import type { Command } from 'commander';
import { basename } from 'node:path';
import { checkOutputFile } from '../paths.ts';
import { generateKeyPair } from '../../util/signing.ts';
import { writeFileAtomic } from '../../util/atomic-write.ts';
import { usageError } from '../../util/errors.ts';

export function register(program: Command): void {
  program
    .command('keygen')
    .description('Make an Ed25519 key pair for signing bundles: <name>.key (private, keep it secret) and <name>.pub ' +
      '(public, give it to whoever runs or flashes the bundles).')
    .requiredOption('-o, --output <name>', 'path prefix of the key files')
    .option('--force', 'overwrite existing key files')
    .addHelpText('after', '\nExample:\n  edgeq keygen -o release\n  edgeq compile model.bin --target cortex-m --plan uniform:8 --sign release.key -o out/m\n' +
      '  edgeq run out/m --trust release.pub')
    .action((opts: { output: string; force?: boolean }) => {
      if (opts.output.trim() === '' || /[/\\]$/.test(opts.output) || basename(opts.output) === '.' || basename(opts.output) === '..') {
        throw usageError(`-o ${JSON.stringify(opts.output)}: expected a path prefix with a name, e.g. -o keys/release (writes keys/release.key and keys/release.pub)`);
      }
      const priv = `${opts.output}.key`, pub = `${opts.output}.pub`;
      for (const f of [priv, pub]) checkOutputFile(f, '-o', [], { mustNotExist: !opts.force });
      const { privatePem, publicPem } = generateKeyPair();
      writeFileAtomic(priv, privatePem, 0o600); // readable by its owner only
      writeFileAtomic(pub, publicPem);
      process.stdout.write(`wrote ${priv} (private) and ${pub} (public)\n`);
    });
}
