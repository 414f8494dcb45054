import type { KubeConfig, KubernetesObject, V1ConfigMap } from '@kubernetes/client-node';
import type { Command } from 'commander';
import { FINALIZER, POLICY_LABEL, policyPath } from '../../api/index.js';
import {
  deleteInjectorTemplate,
  deleteWebhookConfiguration,
  marksOn,
  removeFinalizer,
  unmarkNamespace,
} from '../../controllers/cleanup.js';
import {
  apiFailure,
  isNotFound,
  loadKubeConfig,
  requestJson,
  type PooledKubeConfig,
} from '../../kube/index.js';
import {
  INJECTOR_TEMPLATE_SELECTOR,
  LEGACY_INJECTOR_CONFIGMAP,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  templatePolicy,
} from '../../render/injector-configmap.js';
import { OWNER_POLICY_LABEL } from '../../render/webhook-configuration.js';
import { CliError } from '../errors.js';
import { addClusterOptions, addDeprecatedAlias, durationOption, operatorNamespaceOption } from '../flags.js';

export interface UninstallOptions {
  /** The operator's namespace (template ConfigMaps, Secret, Lease, Deployment). */
  namespace?: string;
  dryRun: boolean;
  /** Deployment to scale to zero first, so that no leader re-creates what is being removed. */
  scaleDown?: string;
  timeoutSeconds: number;
  deleteConfigMap: boolean;
  deleteSecret?: string;
  deleteLease?: string;
  /** Limit the cluster-wide cleanup to these policies' objects (default: every policy's). */
  policies?: readonly string[];
}

interface Step {
  /** Writes a line of the report. */
  say: (line: string) => void;
  failures: string[];
}

interface List<T> {
  items: T[];
}

const MWC_PATH = '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations';
const JSON_PATCH = 'application/json-patch+json';

const nameOf = (o: KubernetesObject): string => o.metadata?.name ?? '';

/** A write that the server only validates (and authorizes) when `dryRun`, never persists. */
function write(kc: KubeConfig, dryRun: boolean, req: Parameters<typeof requestJson>[1]): Promise<unknown> {
  return requestJson(kc, { ...req, query: { ...req.query, ...(dryRun ? { dryRun: 'All' } : {}) } });
}

async function attempt(step: Step, what: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    const f = apiFailure(err);
    step.failures.push(`${what}: ${f.code ? `${f.code} ` : ''}${f.message}`);
    step.say(`FAILED ${what}: ${f.message}`);
  }
}

async function stopOperator(kc: KubeConfig, ns: string, name: string, opts: UninstallOptions, step: Step) {
  const path = `/apis/apps/v1/namespaces/${ns}/deployments/${name}`;
  type Deployment = { spec?: { replicas?: number }; status?: { replicas?: number } };
  let deployment: Deployment;
  try {
    deployment = await requestJson<Deployment>(kc, { path });
  } catch (err) {
    if (!isNotFound(err)) throw err;
    step.say(`deployment ${ns}/${name}: not found, nothing to stop`);
    return;
  }
  if (deployment.spec?.replicas !== 0) {
    const ops = [{ op: 'replace', path: '/spec/replicas', value: 0 }];
    await write(kc, opts.dryRun, {
      method: 'PATCH',
      path: `${path}/scale`,
      body: ops,
      contentType: JSON_PATCH,
    });
  }
  step.say(`${opts.dryRun ? 'would scale' : 'scaled'} deployment ${ns}/${name} to 0 replicas`);
  if (opts.dryRun) return;
  const deadline = Date.now() + opts.timeoutSeconds * 1000;
  while (Date.now() < deadline) {
    const d = await requestJson<Deployment>(kc, { path }).catch((err: unknown) => {
      if (isNotFound(err)) return { status: { replicas: 0 } };
      throw err;
    });
    if (!d.status?.replicas) return;
    await new Promise((r) => setTimeout(r, 1000));
  }
  step.say(`deployment ${ns}/${name}: pods still running after ${opts.timeoutSeconds}s, cleaning up anyway`);
}

async function deleteWebhookConfigurations(kc: KubeConfig, opts: UninstallOptions, step: Step) {
  const list = await requestJson<List<KubernetesObject>>(kc, {
    path: MWC_PATH,
    query: { labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY}` },
  });
  const scope = opts.policies;
  const items = scope
    ? list.items.filter((m) =>
        scope.some((p) => nameOf(m) === p || m.metadata?.labels?.[OWNER_POLICY_LABEL] === p),
      )
    : list.items;
  for (const mwc of items) {
    const name = nameOf(mwc);
    const what = `mutatingwebhookconfiguration ${name}`;
    await attempt(step, `delete ${what}`, async () => {
      const done = await deleteWebhookConfiguration(kc, name, { seen: mwc, dryRun: opts.dryRun });
      const said = {
        deleted: `${opts.dryRun ? 'would delete' : 'deleted'} ${what}`,
        gone: `${what}: already gone`,
        'not-ours': `${what}: not labelled ${MANAGED_BY_LABEL}=${MANAGED_BY}, left alone`,
      };
      step.say(said[done]);
    });
  }
  if (items.length === 0)
    step.say(`no mutatingwebhookconfigurations labelled ${MANAGED_BY_LABEL}=${MANAGED_BY}`);
}

/**
 * Deletes the policies' injector template ConfigMaps (all, or those of `opts.policies`) and, unless
 * scoped to some policies, the shared one of an older release.
 */
async function deleteInjectorTemplates(kc: KubeConfig, ns: string, opts: UninstallOptions, step: Step) {
  const list = await requestJson<List<V1ConfigMap>>(kc, {
    path: `/api/v1/namespaces/${ns}/configmaps`,
    query: { labelSelector: INJECTOR_TEMPLATE_SELECTOR },
  });
  const scope = opts.policies;
  const targets: [string | undefined, V1ConfigMap | undefined][] = list.items
    .map((cm): [string | undefined, V1ConfigMap] => [templatePolicy(cm), cm])
    .filter(([policy]) => policy !== undefined && (!scope || scope.includes(policy)));
  if (targets.length === 0) step.say(`no injector template configmaps in ${ns}`);
  if (!scope) targets.push([undefined, undefined]);
  for (const [policy, seen] of targets) {
    const what = `configmap ${ns}/${seen ? nameOf(seen) : LEGACY_INJECTOR_CONFIGMAP}`;
    await attempt(step, `delete ${what}`, async () => {
      const done = await deleteInjectorTemplate(kc, ns, policy, {
        dryRun: opts.dryRun,
        ...(seen ? { seen } : {}),
      });
      const said = {
        deleted: `${opts.dryRun ? 'would delete' : 'deleted'} ${what}`,
        gone: `${what}: already gone`,
        'not-ours': `${what}: not labelled ${MANAGED_BY_LABEL}=${MANAGED_BY}, left alone`,
      };
      step.say(said[done]);
    });
  }
}

async function deleteIfPresent(kc: KubeConfig, dryRun: boolean, path: string, what: string, step: Step) {
  try {
    await write(kc, dryRun, { method: 'DELETE', path });
    step.say(`${dryRun ? 'would delete' : 'deleted'} ${what}`);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    step.say(`${what}: already gone`);
  }
}

async function unmarkNamespaces(kc: KubeConfig, opts: UninstallOptions, step: Step) {
  const list = await requestJson<List<KubernetesObject>>(kc, { path: '/api/v1/namespaces' });
  let count = 0;
  const scope = opts.policies;
  for (const ns of list.items) {
    const policy = ns.metadata?.labels?.[POLICY_LABEL];
    if (scope && (policy === undefined || !scope.includes(policy))) continue;
    if (marksOn(ns).length === 0) continue;
    count++;
    const name = nameOf(ns);
    await attempt(step, `unmark namespace ${name}`, async () => {
      const marks = await unmarkNamespace(kc, ns, { dryRun: opts.dryRun });
      step.say(`${opts.dryRun ? 'would unmark' : 'unmarked'} namespace ${name} (${marks.join(', ')})`);
    });
  }
  if (count === 0) step.say('no namespaces carry sidecar.dev marks');
}

async function releasePolicies(kc: KubeConfig, opts: UninstallOptions, step: Step) {
  let list: List<KubernetesObject>;
  try {
    list = await requestJson<List<KubernetesObject>>(kc, { path: policyPath() });
  } catch (err) {
    if (!isNotFound(err)) throw err;
    step.say('no SidecarPolicy API installed');
    return;
  }
  const scope = opts.policies;
  const held = list.items.filter(
    (p) => p.metadata?.finalizers?.includes(FINALIZER) && (!scope || scope.includes(nameOf(p))),
  );
  for (const p of held) {
    const name = nameOf(p);
    await attempt(step, `remove finalizer from sidecarpolicy ${name}`, async () => {
      if (await removeFinalizer(kc, name, { seen: p, dryRun: opts.dryRun }))
        step.say(
          `${opts.dryRun ? 'would remove' : 'removed'} finalizer ${FINALIZER} from sidecarpolicy ${name}`,
        );
    });
  }
  if (held.length === 0) step.say(`no sidecarpolicies hold finalizer ${FINALIZER}`);
}

/** Removes everything the operator created outside its Helm release; safe to run again. */
export async function uninstall(
  kc: KubeConfig,
  opts: UninstallOptions,
  say: (line: string) => void,
): Promise<{ failures: string[] }> {
  const step: Step = { say, failures: [] };
  const ns = opts.namespace;
  const needsNamespace = opts.scaleDown ?? opts.deleteSecret ?? opts.deleteLease ?? opts.deleteConfigMap;
  if (needsNamespace && !ns)
    throw new CliError('uninstall: --operator-namespace is required to stop or delete namespaced objects', 2);
  if (opts.scaleDown && ns) {
    const name = opts.scaleDown;
    await attempt(step, `stop deployment ${ns}/${name}`, () => stopOperator(kc, ns, name, opts, step));
  }
  await attempt(step, 'list mutatingwebhookconfigurations', () =>
    deleteWebhookConfigurations(kc, opts, step),
  );
  await attempt(step, 'list namespaces', () => unmarkNamespaces(kc, opts, step));
  await attempt(step, 'list sidecarpolicies', () => releasePolicies(kc, opts, step));
  if (opts.deleteConfigMap && ns)
    await attempt(step, 'list configmaps', () => deleteInjectorTemplates(kc, ns, opts, step));
  const namespaced: [boolean, string, string][] = [
    [
      !!opts.deleteSecret,
      `/api/v1/namespaces/${ns}/secrets/${opts.deleteSecret}`,
      `secret ${ns}/${opts.deleteSecret}`,
    ],
    [
      !!opts.deleteLease,
      `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/${opts.deleteLease}`,
      `lease ${ns}/${opts.deleteLease}`,
    ],
  ];
  for (const [wanted, path, what] of namespaced) {
    if (wanted)
      await attempt(step, `delete ${what}`, () => deleteIfPresent(kc, opts.dryRun, path, what, step));
  }
  return { failures: step.failures };
}

interface Flags {
  kubeconfig?: string;
  context?: string;
  operatorNamespace?: string;
  dryRun?: boolean;
  scaleDown?: string;
  /** Milliseconds. */
  timeout: number;
  deleteConfigmap?: boolean;
  deleteSecret?: string;
  deleteLease?: string;
  policy?: string[];
}

export function register(program: Command): void {
  const cmd = program
    .command('uninstall')
    .description(
      'remove what the operator created outside its Helm release: stop it, delete its ' +
        'MutatingWebhookConfigurations, remove the sidecar.dev namespace marks, and remove the ' +
        `${FINALIZER} finalizer from SidecarPolicies so they can be deleted with the CRD ` +
        '(run by the chart’s pre-delete hook; idempotent)',
    );
  addClusterOptions(cmd)
    .addOption(operatorNamespaceOption().env('POD_NAMESPACE'))
    .option(
      '--dry-run',
      'report what would be removed; the API server validates every write but keeps nothing',
    )
    .option(
      '--scale-down <deployment>',
      'scale the operator’s Deployment to 0 first and wait for its pods to stop',
    )
    .addOption(durationOption('timeout', 'how long to wait for the operator’s pods to stop', 120_000))
    .option(
      '--delete-configmap',
      'also delete the injector template ConfigMaps (sidecar-injector-<policy>, only those of --policy ' +
        `when given; and ${LEGACY_INJECTOR_CONFIGMAP} of older releases)`,
    )
    .option('--delete-secret <name>', 'also delete the certificate Secret')
    .option('--delete-lease <name>', 'also delete the leader-election Lease')
    .option(
      '--policy <name>',
      'only the webhook configuration, namespace marks and finalizer of this policy (repeatable; default: all)',
      (v: string, acc: string[] = []) => [...acc, v],
    );
  // The chart's pre-delete hook passed --namespace before 0.2.
  addDeprecatedAlias(cmd, '--namespace <namespace>', {
    flag: '--operator-namespace',
    attribute: 'operatorNamespace',
  });
  cmd.action(async (flags: Flags) => {
    const timeoutSeconds = Math.ceil(flags.timeout / 1000);
    let kc: PooledKubeConfig;
    try {
      kc = loadKubeConfig({ kubeconfig: flags.kubeconfig, context: flags.context });
    } catch (err) {
      throw new CliError(`uninstall: ${(err as Error).message}`, 2);
    }
    const say = (line: string): void => void process.stdout.write(`${line}\n`);
    const { failures } = await uninstall(
      kc,
      {
        namespace: flags.operatorNamespace,
        dryRun: flags.dryRun ?? false,
        scaleDown: flags.scaleDown,
        timeoutSeconds,
        deleteConfigMap: flags.deleteConfigmap ?? false,
        deleteSecret: flags.deleteSecret,
        deleteLease: flags.deleteLease,
        policies: flags.policy,
      },
      say,
    ).finally(() => kc.closeConnections());
    if (failures.length > 0)
      throw new CliError(`uninstall: ${failures.length} step(s) failed:\n  ${failures.join('\n  ')}`);
    say(flags.dryRun ? 'uninstall: dry run, nothing changed' : 'uninstall: done');
  });
}
