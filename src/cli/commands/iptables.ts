import { Command, Option } from 'commander';
import { applyIptables, IptablesApplyError } from '../iptables-apply.js';
import {
  FLAG_SPECS,
  IptablesFlagError,
  optionsFromStrings,
  resolveConfig,
  type IptablesConfig,
  type IptablesOptionKey,
} from '../../iptables/index.js';
import { CliError } from '../errors.js';
import { addDeprecatedAlias } from '../flags.js';
import { detectIPv6, writeProxyConfig } from '../proxy-config-file.js';

/** Exit code for flags the program refuses (nothing has been touched). */
const EXIT_USAGE = 2;

/**
 * Istio's short flags, but -n is the namespace in every other command: --dry-run keeps only its long
 * name, and -n stays as a deprecated alias.
 */
const DEPRECATED_SHORT: Partial<Record<IptablesOptionKey, string>> = { dryRun: 'n' };

function addOptions(cmd: Command): void {
  for (const spec of FLAG_SPECS) {
    const short = spec.short === DEPRECATED_SHORT[spec.key] ? undefined : spec.short;
    const names = `${short ? `-${short}, ` : ''}--${spec.long}`;
    cmd.addOption(
      new Option(spec.kind === 'boolean' ? names : `${names} <${spec.value ?? 'value'}>`, spec.description),
    );
  }
  cmd.addOption(new Option('--no-ipv6', 'never write ip6tables rules'));
  for (const [key, short] of Object.entries(DEPRECATED_SHORT)) {
    const spec = FLAG_SPECS.find((s) => s.key === key)!;
    addDeprecatedAlias(cmd, `-${short}`, { flag: `--${spec.long}`, attribute: key, value: true });
  }
}

/** Flags → validated config, or a one-line error before anything is touched. */
export function configFromFlags(raw: Partial<Record<IptablesOptionKey, string | boolean>>): IptablesConfig {
  try {
    return resolveConfig(optionsFromStrings(raw));
  } catch (err) {
    if (err instanceof IptablesFlagError) throw new CliError(`iptables: ${err.message}`, EXIT_USAGE);
    throw err;
  }
}

export function register(program: Command): void {
  const cmd = program
    .command('iptables')
    .description(
      'write the rules that send the pod’s TCP traffic through the proxy (run by the init container)',
    )
    .showHelpAfterError(false)
    .showSuggestionAfterError(false)
    .allowExcessArguments(false);
  addOptions(cmd);
  cmd.addHelpText(
    'after',
    `
In an injected pod, sidecar-init first writes the proxy's configuration that the webhook put in its
environment ($SIDECAR_PROXY_CONFIG, into $SIDECAR_PROXY_CONFIG_FILE), then applies the rules.`,
  );
  cmd.action((raw: Partial<Record<IptablesOptionKey, string | boolean>>) => {
    const config = configFromFlags(raw);
    if (!config.dryRun && !config.cleanup) {
      // Before the rules: the file does not depend on them, and the proxy starts only after this exits.
      const written = writeProxyConfig(process.env, detectIPv6(config.ipv6));
      if (written) process.stdout.write(`wrote ${written.file} (${written.bytes} bytes)\n`);
    }
    try {
      applyIptables(config);
    } catch (err) {
      if (err instanceof IptablesApplyError) throw new CliError(`iptables: ${err.message}`, 1);
      throw err;
    }
  });
}
