import { Command } from 'commander';
import { version } from '../operator/version.js';

interface CommandModule {
  register(program: Command): void;
}

/**
 * Subcommands, each in `commands/<name>.ts` exporting `register(program)`. They are imported only
 * when needed: the init container runs `iptables` in every pod start, and should not pay for loading
 * the Kubernetes client, the webhook server and the X.509 stack it never uses.
 */
const COMMANDS: Record<string, () => Promise<CommandModule>> = {
  run: () => import('./commands/run.js'),
  inject: () => import('./commands/inject.js'),
  iptables: () => import('./commands/iptables.js'),
  'proxy-config': () => import('./commands/proxy-config.js'),
  doctor: () => import('./commands/doctor.js'),
  migrate: () => import('./commands/migrate.js'),
  demo: () => import('./commands/demo.js'),
  uninstall: () => import('./commands/uninstall.js'),
  version: () => import('./commands/version.js'),
  completion: () => import('./commands/completion.js'),
};

/** Commands that need the whole tree (completion offers every command and flag). */
const NEEDS_ALL = new Set(['completion']);

/** The subcommands to load for `argv`: the one it names, none for `--version`, all for help. */
function commandsFor(argv: readonly string[]): string[] {
  const args = argv.slice(2);
  const first = args.find((a) => !a.startsWith('-'));
  if (first !== undefined && first in COMMANDS && !NEEDS_ALL.has(first)) return [first];
  if (first === undefined && args.some((a) => a === '-v' || a === '--version')) return [];
  return Object.keys(COMMANDS);
}

/** The `sidecar-operator` command with the subcommands `argv` needs (all of them for help). */
export async function buildProgram(argv: readonly string[] = process.argv): Promise<Command> {
  const program = new Command('sidecar-operator')
    .description('Injects a traffic-intercepting proxy sidecar into pods, configured by SidecarPolicy')
    .version(version, '-v, --version')
    .option('--debug', 'print stack traces on errors')
    .showHelpAfterError()
    .exitOverride();
  const modules = await Promise.all(commandsFor(argv).map((name) => COMMANDS[name]!()));
  for (const mod of modules) mod.register(program);
  return program;
}
