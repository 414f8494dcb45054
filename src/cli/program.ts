import { Command } from 'commander';
import { version } from './version.js';
import { register as registerIptables } from './commands/iptables.js';
import { register as registerInject } from './commands/inject.js';
import { register as registerUninstall } from './commands/uninstall.js';
import { register as registerDoctor } from './commands/doctor.js';
import { register as registerDemo } from './commands/demo.js';
import { register as registerRun } from './commands/run.js';

/**
 * The `sidecar-operator` command. Each subcommand lives in `commands/<name>.ts` and exports a
 * `register(program)` function added here.
 */
export function buildProgram(): Command {
  const program = new Command('sidecar-operator')
    .description('Injects a traffic-intercepting proxy sidecar into pods, configured by SidecarPolicy')
    .version(version, '-v, --version')
    .option('--debug', 'print stack traces on errors')
    .showHelpAfterError()
    .exitOverride();
  program
    .command('version')
    .description('print the version')
    .action(() => {
      process.stdout.write(`${version}\n`);
    });
  registerIptables(program);
  registerInject(program);
  registerUninstall(program);
  registerDoctor(program);
  registerDemo(program);
  registerRun(program);
  return program;
}
