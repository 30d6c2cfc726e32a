// `edgeq keygen`: an Ed25519 key pair for signing bundles.
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { generateKeyPair } from '../../util/signing.ts';
import { writeFileAtomic } from '../../util/atomic-write.ts';
import { EdgeqError } from '../../util/errors.ts';

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
      const priv = `${opts.output}.key`, pub = `${opts.output}.pub`;
      for (const f of [priv, pub]) if (existsSync(f) && !opts.force) throw new EdgeqError('already exists (use --force to replace it)', { file: f });
      const { privatePem, publicPem } = generateKeyPair();
      writeFileAtomic(priv, privatePem, 0o600); // readable by its owner only
      writeFileAtomic(pub, publicPem);
      process.stdout.write(`wrote ${priv} (private) and ${pub} (public)\n`);
    });
}
