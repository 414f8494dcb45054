import { Command, Option } from 'commander';
import { stringify } from 'yaml';
import { formatPlan, gatherMigration, planHasWork, planMigration } from '../../doctor/index.js';
import { loadKubeConfig } from '../../kube/index.js';

interface MigrateFlags {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  policy?: string;
  operatorNamespace?: string;
  output: 'text' | 'json' | 'yaml';
}

const EXAMPLES = `
Reads the cluster and changes nothing: it prints the commands, in the order to run them.
Exit status: 0 when nothing is left to move, 1 when the plan has steps or a problem.

For each namespace labelled for Istio (istio-injection=enabled, istio.io/rev) or annotated for
Linkerd (linkerd.io/inject), or holding pods with their sidecar:
  1. make a policy select it (a namespace label its namespaceSelector matches, or its name),
  2. remove the other mesh's label, so its injector stops being called for new pods,
  3. re-create the workloads that carry the other sidecar (rollout restart),
  4. check it: sidecar-operator doctor -n <namespace>.
The policy that governs each namespace afterwards is computed with the operator's own precedence
rules, not assumed. Other meshes' injector webhooks are listed with the namespaces they still select.

Examples:
  # the whole cluster
  $ sidecar-operator migrate

  # one namespace, taken by the policy "mesh-default"
  $ sidecar-operator migrate -n bookinfo --policy mesh-default

  # for scripts
  $ sidecar-operator migrate -o json | jq -r '.namespaces[].steps[]'
`;

export function register(program: Command): void {
  program
    .command('migrate')
    .description(
      'plan the move from Istio or Linkerd: namespaces, pods and injectors they leave, with the commands for each',
    )
    .option('--kubeconfig <path>', 'kubeconfig file (default: in-cluster, $KUBECONFIG, ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context')
    .option('-n, --namespace <namespace>', 'plan only this namespace')
    .option(
      '--policy <name>',
      'the SidecarPolicy that takes namespaces no policy governs yet (default: the only one, or the only one with compatibility.istio)',
    )
    .option(
      '--operator-namespace <namespace>',
      'where the operator runs (never governed; default: none excluded)',
    )
    .addOption(
      new Option('-o, --output <format>', 'output format').choices(['text', 'json', 'yaml']).default('text'),
    )
    .addHelpText('after', EXAMPLES)
    .action(async (flags: MigrateFlags) => {
      const kc = loadKubeConfig({ kubeconfig: flags.kubeconfig, context: flags.context });
      try {
        const inputs = await gatherMigration(kc, {
          ...(flags.namespace !== undefined ? { namespace: flags.namespace } : {}),
          ...(flags.policy !== undefined ? { target: flags.policy } : {}),
          ...(flags.operatorNamespace !== undefined ? { operatorNamespace: flags.operatorNamespace } : {}),
        });
        const plan = planMigration(inputs);
        const out =
          flags.output === 'json'
            ? `${JSON.stringify(plan, null, 2)}\n`
            : flags.output === 'yaml'
              ? stringify(plan)
              : formatPlan(plan);
        process.stdout.write(out);
        process.exitCode = planHasWork(plan) ? 1 : 0;
      } finally {
        await kc.closeConnections();
      }
    });
}
