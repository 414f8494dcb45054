import type { Command } from 'commander';
import { stringify } from 'yaml';
import { exitCodeOf, formatJson, formatText, gatherInputs, runChecks } from '../../doctor/index.js';
import { loadKubeConfig } from '../../kube/index.js';
import { CliError } from '../errors.js';
import {
  addClusterOptions,
  durationOption,
  namespaceOption,
  operatorNamespaceOption,
  outputOption,
} from '../flags.js';

interface DoctorFlags {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  pod?: string;
  policy?: string;
  operatorNamespace?: string;
  webhookUrl?: string;
  certSecret?: string;
  /** Milliseconds. */
  timeout: number;
  output: 'text' | 'json' | 'yaml';
}

const EXAMPLES = `
Exit status: 0 when every check passes, 1 when one warns, 2 when one fails.

Examples:
  # everything the operator needs, across all policies
  $ sidecar-operator doctor

  # why do pods in bookinfo get (or not get) the sidecar?
  $ sidecar-operator doctor --namespace bookinfo

  # is this pod injected, with the current revision?
  $ sidecar-operator doctor --namespace bookinfo --pod productpage-v1-5d9b8c7f4-abcde

  # a webhook behind a Service, checked from a laptop through a port-forward
  $ kubectl -n sidecar-system port-forward svc/sidecar-operator 9443:443 &
  $ sidecar-operator doctor --webhook-url https://127.0.0.1:9443

  # for scripts
  $ sidecar-operator doctor --output json | jq '.checks[] | select(.status != "pass")'
`;

export function register(program: Command): void {
  const cmd = program
    .command('doctor')
    .description(
      'check why pods do or do not get the sidecar: API server, webhook, certificates, namespace, pod',
    );
  addClusterOptions(cmd)
    .addOption(namespaceOption('explain which policy governs this namespace, and check only those'))
    .option(
      '--pod <name>',
      'explain whether this pod (in --namespace, default "default") is injected and current',
    )
    .option('--policy <name>', 'check only this policy’s webhook')
    .addOption(
      operatorNamespaceOption('where the operator runs (default: found by its injector template ConfigMaps)'),
    )
    .option(
      '--webhook-url <url>',
      'reach the webhook here instead of its clientConfig (a port-forward to its Service); the certificate is still checked for the name the API server uses',
    )
    .option('--cert-secret <name>', 'the operator’s certificate Secret', 'sidecar-operator-certs')
    // A plain number was milliseconds before.
    .addOption(durationOption('timeout', 'time allowed for each connection to the webhook', 5000, 'ms'))
    .addOption(outputOption(['text', 'json', 'yaml'], 'text'))
    .addHelpText('after', EXAMPLES)
    .action(async (flags: DoctorFlags) => {
      const timeoutMs = flags.timeout;
      if (timeoutMs <= 0) throw new CliError('doctor: --timeout must be more than 0', 2);
      if (flags.webhookUrl !== undefined && !/^https:\/\/[^/]+/.test(flags.webhookUrl))
        throw new CliError(`doctor: --webhook-url must be https://host:port, not "${flags.webhookUrl}"`, 2);
      const kc = loadKubeConfig({ kubeconfig: flags.kubeconfig, context: flags.context });
      try {
        const inputs = await gatherInputs(kc, {
          namespace: flags.namespace,
          pod: flags.pod,
          policy: flags.policy,
          operatorNamespace: flags.operatorNamespace,
          webhookUrl: flags.webhookUrl,
          certSecret: flags.certSecret,
          timeoutMs,
          now: new Date(),
        });
        const results = runChecks(inputs);
        const json = (): string => formatJson(results);
        process.stdout.write(
          flags.output === 'json'
            ? json()
            : flags.output === 'yaml'
              ? stringify(JSON.parse(json()))
              : formatText(results, process.stdout.isTTY === true),
        );
        process.exitCode = exitCodeOf(results);
      } finally {
        await kc.closeConnections();
      }
    });
}
