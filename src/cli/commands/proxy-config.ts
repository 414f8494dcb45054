import { Command, Option } from 'commander';
import { CliError } from '../errors.js';
import { addClusterOptions, namespaceOption } from '../flags.js';
import { DEFAULT_INIT_IMAGE } from '../../operator/config.js';
import { detectIPv6, writeProxyConfig } from '../proxy-config-file.js';
import type { BootstrapFlags } from '../proxy-config-bootstrap.js';

const EXAMPLES = `
Prints the proxy configuration (YAML) a pod gets, exactly as sidecar-init writes it, and nothing else
on stdout. Parts only the running pod knows are noted on stderr and left as {{ name }}.

Examples:
  # offline: what a pod of this Deployment would get from this policy
  $ sidecar-operator proxy-config bootstrap --policy examples/bookinfo.yaml -f examples/bookinfo-productpage.yaml

  # offline, no pod: the policy's configuration, for an IPv6 pod
  $ sidecar-operator proxy-config bootstrap --policy examples/minimal.yaml --ipv6

  # what a running pod's proxy was given
  $ sidecar-operator proxy-config bootstrap --pod productpage-v1-5d9b8c7f4-abcde -n bookinfo
`;

function registerBootstrap(parent: Command): void {
  const cmd = parent.command('bootstrap');
  addClusterOptions(cmd, 'with --pod: ');
  cmd
    .description(
      'print the proxy configuration a pod gets: offline from a policy, or from a pod in the cluster',
    )
    .option('--policy <file>', 'the SidecarPolicy (YAML), offline')
    .option(
      '-f, --filename <file>',
      'with --policy: a Pod or workload manifest (- for stdin); default: a bare pod',
    )
    .option('--pod <name>', 'read it from this pod in the cluster instead')
    .addOption(namespaceOption('the pod’s namespace (offline: when the manifest names none)', 'default'))
    .addOption(
      new Option('--native-sidecars <bool>', 'offline: whether the cluster runs native sidecars').default(
        'true',
      ),
    )
    .option('--init-image <image>', 'offline: the operator’s init image', DEFAULT_INIT_IMAGE)
    .option('--ipv6', 'as for a pod with IPv6 (default: offline no; with --pod, from its addresses)')
    .option('--no-ipv6', 'as for a pod without IPv6')
    .addHelpText('after', EXAMPLES)
    .action(async (flags: BootstrapFlags) => {
      if ((flags.policy === undefined) === (flags.pod === undefined))
        throw new CliError(
          'proxy-config bootstrap: give either --policy (offline) or --pod (from the cluster)',
          2,
        );
      if (flags.nativeSidecars !== 'true' && flags.nativeSidecars !== 'false')
        throw new CliError(
          `proxy-config: --native-sidecars: must be true or false, not "${flags.nativeSidecars}"`,
          2,
        );
      const { runBootstrap } = await import('../proxy-config-bootstrap.js');
      await runBootstrap(flags);
    });
}

function registerWrite(parent: Command): void {
  parent
    .command('write')
    .description(
      'write the proxy configuration named by $SIDECAR_PROXY_CONFIG_FILE (run by sidecar-init when interception is None)',
    )
    .option('--ipv6', 'the pod has IPv6 (default: detected)')
    .option('--no-ipv6', 'the pod has no IPv6')
    .action((flags: { ipv6?: boolean }) => {
      const written = writeProxyConfig(process.env, detectIPv6(flags.ipv6));
      if (!written)
        throw new CliError('proxy-config write: $SIDECAR_PROXY_CONFIG_FILE is not set: nothing to write');
      process.stdout.write(`wrote ${written.file} (${written.bytes} bytes)\n`);
    });
}

export function register(program: Command): void {
  const cmd = program
    .command('proxy-config')
    .description('the proxy’s configuration: print what a pod gets, or write it (sidecar-init)');
  registerBootstrap(cmd);
  registerWrite(cmd);
}
