#!/usr/bin/env node
// Checked before anything else loads: on an unsupported Node the dependencies fail while importing,
// with a stack trace that does not say what is wrong.
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 19)) {
  process.stderr.write(`sidecar-operator: needs Node.js 22.19 or newer (this is ${process.versions.node})\n`);
  process.exit(1);
}

// A reader that stops early (`sidecar-operator demo --help | head -1`) closes the pipe: what is left
// of the output has nowhere to go, which is no error of ours.
for (const stream of [process.stdout, process.stderr])
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(process.exitCode ?? 0);
  });

// No top-level await: the single-file executable bundles this file as CommonJS (hack/dist/build.ts).
async function main(): Promise<void> {
  // Compiled code of the modules is cached on disk (the system's temporary directory) across runs:
  // start-up is most of a short command's time. Nothing happens where that directory is not writable.
  (await import('node:module')).enableCompileCache?.();
  const { CommanderError, InvalidArgumentError } = await import('commander');
  const { buildProgram } = await import('./program.js');
  const { CliError, formatError } = await import('./errors.js');
  const debug = process.argv.includes('--debug');
  try {
    const program = await buildProgram(process.argv);
    await program.parseAsync(process.argv);
  } catch (err) {
    // Commander prints its own errors before throwing them; an argument error thrown by our code
    // (an InvalidArgumentError raised outside option parsing) it never saw, so it is printed here.
    if (err instanceof CommanderError && !(err instanceof InvalidArgumentError)) {
      process.exitCode = err.exitCode;
    } else {
      process.stderr.write(`sidecar-operator: ${formatError(err, debug)}\n`);
      process.exitCode = err instanceof CliError ? err.exitCode : 1;
      // A failed command ends the process, even if something it started still holds the event loop.
      setTimeout(() => process.exit(), 1000).unref();
    }
  }
}

void main();
