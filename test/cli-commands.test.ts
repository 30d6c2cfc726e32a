// The command index: every entry's module registers exactly the command it is listed as,
// and `edgeq --help` lists every command without loading any module.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Command } from 'commander';
import { COMMANDS } from '../compiler/cli/commands/index.ts';
import { cli } from './helpers/cli.ts';

test('each listed command module registers a command of that name', async () => {
  for (const c of COMMANDS) {
    const program = new Command('edgeq');
    (await c.load()).register(program);
    assert.equal(program.commands.map((x) => x.name()), [c.name], c.name);
  }
});

test('edgeq --help lists every command with its summary', async () => {
  const r = await cli(['--help']);
  assert.is(r.status, 0);
  for (const c of COMMANDS) assert.ok(r.stdout.includes(c.name), `${c.name} missing from --help`);
});

test('an unknown command is a usage error (exit 2)', async () => {
  const r = await cli(['frobnicate']);
  assert.is(r.status, 2);
  assert.match(r.stderr, /unknown command 'frobnicate'/);
});

test.run();
