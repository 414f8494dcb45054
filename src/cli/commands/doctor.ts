import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import {
  checkPolicyFile,
  exitCodeOf,
  formatJson,
  formatResult,
  formatSummary,
  streamDoctor,
  type CheckResult,
  type DoctorListener,
} from '../../doctor/index.js';
import { loadKubeConfig } from '../../kube/index.js';
import { DEFAULT_INIT_IMAGE } from '../../operator/version.js';
import { CliError } from '../errors.js';
import { readPolicyFile } from '../manifest/policy-file.js';
import { progressNote } from '../progress.js';
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
  leaseName: string;
  filename?: string;
  offline?: boolean;
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

  # a policy file, before it is applied (no cluster needed)
  $ sidecar-operator doctor --offline -f policy.yaml

Every warning and failure has a code (SO1xx), explained in docs/doctor.md#<code>.
`;

/** A step slower than this shows what it waits for, on a terminal. */
const PROGRESS_AFTER_MS = 1000;

/**
 * Text results as they come, on stdout; on a terminal, what a slow step waits for on stderr (one
 * line, erased when the step ends), so stdout stays the report.
 */
function textListener(colour: boolean, progress: boolean): DoctorListener {
  const note = progressNote((s) => process.stderr.write(s), PROGRESS_AFTER_MS);
  return {
    result: (r) => process.stdout.write(formatResult(r, colour)),
    ...(progress ? { step: note } : {}),
  };
}

function report(results: CheckResult[], output: DoctorFlags['output'], streamed: boolean): void {
  if (output === 'json') process.stdout.write(formatJson(results));
  else if (output === 'yaml') process.stdout.write(stringify(JSON.parse(formatJson(results))));
  else if (streamed) process.stdout.write(formatSummary(results, process.stdout.isTTY === true));
  else
    process.stdout.write(
      results.map((r) => formatResult(r, process.stdout.isTTY === true)).join('') +
        formatSummary(results, process.stdout.isTTY === true),
    );
  process.exitCode = exitCodeOf(results);
}

/** `--offline -f policy.yaml`: the checks of a policy file that need no cluster. */
function offline(file: string, output: DoctorFlags['output']): void {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new CliError(`doctor: cannot read ${file}: ${(err as Error).message}`);
  }
  const read = readPolicyFile(text);
  report(
    checkPolicyFile({ file, problems: read.problems, policy: read.policy, initImage: DEFAULT_INIT_IMAGE }),
    output,
    false,
  );
}

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
    .option('--lease-name <name>', 'the operator’s leader election Lease', 'sidecar-operator-leader')
    .option('-f, --filename <file>', 'check this SidecarPolicy file without a cluster (implies --offline)')
    .option('--offline', 'check only what needs no cluster: the policy file given with -f')
    // A plain number was milliseconds before.
    .addOption(durationOption('timeout', 'time allowed for each connection to the webhook', 5000, 'ms'))
    .addOption(outputOption(['text', 'json', 'yaml'], 'text'))
    .addHelpText('after', EXAMPLES)
    .action(async (flags: DoctorFlags) => {
      const timeoutMs = flags.timeout;
      if (timeoutMs <= 0) throw new CliError('doctor: --timeout must be more than 0', 2);
      if (flags.offline === true || flags.filename !== undefined) {
        if (flags.filename === undefined)
          throw new CliError('doctor: --offline checks a policy file: pass -f <file>', 2);
        offline(flags.filename, flags.output);
        return;
      }
      if (flags.webhookUrl !== undefined && !/^https:\/\/[^/]+/.test(flags.webhookUrl))
        throw new CliError(`doctor: --webhook-url must be https://host:port, not "${flags.webhookUrl}"`, 2);
      const kc = loadKubeConfig({ kubeconfig: flags.kubeconfig, context: flags.context });
      const text = flags.output === 'text';
      const listener = text
        ? textListener(process.stdout.isTTY === true, process.stderr.isTTY === true)
        : { result: () => undefined };
      try {
        const results = await streamDoctor(
          kc,
          {
            namespace: flags.namespace,
            pod: flags.pod,
            policy: flags.policy,
            operatorNamespace: flags.operatorNamespace,
            webhookUrl: flags.webhookUrl,
            certSecret: flags.certSecret,
            leaseName: flags.leaseName,
            timeoutMs,
            now: new Date(),
          },
          listener,
        );
        report(results, flags.output, text);
      } finally {
        await kc.closeConnections();
      }
    });
}
