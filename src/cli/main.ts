#!/usr/bin/env node
import 'reflect-metadata';
import { CommanderError } from 'commander';
import { buildProgram } from './program.js';
import { CliError, formatError } from './errors.js';

const program = buildProgram();
const debug = process.argv.includes('--debug');

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode;
  } else {
    process.stderr.write(`sidecar-operator: ${formatError(err, debug)}\n`);
    process.exitCode = err instanceof CliError ? err.exitCode : 1;
  }
}
