// Every CLI command, in the order `edgeq --help` lists them. Add a command by writing
// ./<name>.ts exporting `register(program)` and listing it here.
import type { Command } from 'commander';

export const COMMANDS: Array<(program: Command) => void> = [
];
