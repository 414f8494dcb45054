import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import {
  compileTemplate,
  podStartOf,
  readPodProxyConfig,
  resolveAtStart,
  START_SUBSTITUTIONS,
  type Pod,
} from '../inject/index.js';
import { injectObject, ObjectShapeError } from '../inject/workloads.js';
import { loadPolicy } from './commands/inject.js';
import { CliError } from './errors.js';

// `proxy-config bootstrap`, loaded only when it runs: `proxy-config write` (sidecar-init, at every
// pod start) needs none of the engine, the policy loader or the Kubernetes client.

export interface BootstrapFlags {
  policy?: string;
  filename?: string;
  pod?: string;
  namespace: string;
  nativeSidecars: string;
  initImage: string;
  ipv6?: boolean;
  kubeconfig?: string;
  context?: string;
}

function readText(file: string): string {
  try {
    return file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(
      `proxy-config: cannot read ${file === '-' ? 'stdin' : file}: ${(err as Error).message}`,
    );
  }
}

/** The first object in the manifest with a pod (a Pod or a workload's template), or a bare pod. */
function podFrom(file: string | undefined, namespace: string): Record<string, unknown> {
  if (file === undefined)
    return { apiVersion: 'v1', kind: 'Pod', metadata: { namespace }, spec: { containers: [] } };
  for (const [i, doc] of parseAllDocuments(readText(file)).entries()) {
    if (doc.errors.length > 0)
      throw new CliError(`proxy-config: ${file}: document ${i}: ${doc.errors[0]!.message.split('\n')[0]}`);
    const obj = doc.toJS() as unknown;
    if (obj !== null && typeof obj === 'object' && !Array.isArray(obj)) {
      const kind = (obj as { kind?: unknown }).kind;
      if (
        ['Pod', 'Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob'].includes(
          String(kind),
        )
      )
        return obj as Record<string, unknown>;
    }
  }
  throw new CliError(`proxy-config: ${file}: no Pod or workload with a pod template`);
}

/** The injected pod of `object` (its template's pod for a workload), and its namespace. */
function injectedPod(
  object: Record<string, unknown>,
  flags: BootstrapFlags,
): { pod: Pod; namespace: string } {
  const policy = loadPolicy(flags.policy!, readText(flags.policy!));
  const nativeSidecars = flags.nativeSidecars !== 'false';
  const template = compileTemplate(policy, { nativeSidecars, initImage: flags.initImage });
  if (!template.proxyConfig)
    throw new CliError(
      `proxy-config: policy ${template.policy} has bootstrap mode None: nothing is written, the proxy image configures itself`,
    );
  let result;
  try {
    result = injectObject(object, template, {
      defaultNamespace: flags.namespace,
      operatorNamespace: '',
      reinject: true,
    });
  } catch (err) {
    if (err instanceof ObjectShapeError)
      throw new CliError(`proxy-config: ${flags.filename}: ${err.message}`);
    throw err;
  }
  if ('noPodTemplate' in result)
    throw new CliError(`proxy-config: ${flags.filename}: no pod to inject (${result.noPodTemplate})`);
  if (!result.decision.inject) throw new CliError(`proxy-config: not injected: ${result.decision.message}`);
  const meta = (object.metadata ?? {}) as { namespace?: string };
  return { pod: result.pod, namespace: meta.namespace ?? flags.namespace };
}

async function podFromCluster(flags: BootstrapFlags): Promise<Pod> {
  const { CoreV1Api } = await import('@kubernetes/client-node');
  const { loadKubeConfig } = await import('../kube/index.js');
  const kc = loadKubeConfig({ kubeconfig: flags.kubeconfig, context: flags.context });
  try {
    return (await kc
      .makeApiClient(CoreV1Api)
      .readNamespacedPod({ name: flags.pod!, namespace: flags.namespace })) as Pod;
  } catch (err) {
    const code = (err as { code?: number }).code;
    if (code === 404)
      throw new CliError(`proxy-config: pod ${flags.pod} not found in namespace ${flags.namespace}`);
    throw new CliError(
      `proxy-config: cannot read pod ${flags.namespace}/${flags.pod}: ${(err as Error).message}`,
    );
  } finally {
    await kc.closeConnections();
  }
}

/** The configuration `pod` gets, as sidecar-init writes it; notes for stderr. */
export function bootstrapOf(
  pod: Pod,
  namespace: string,
  ipv6: boolean | undefined,
): { text: string; notes: string[] } {
  const config = readPodProxyConfig(pod);
  const name = `${namespace}/${pod.metadata?.name ?? pod.metadata?.generateName ?? '(unnamed)'}`;
  if (!config)
    throw new CliError(
      `proxy-config: pod ${name} carries no proxy configuration (bootstrap mode None, or injected before the operator rendered one)`,
    );
  const known = podStartOf(pod);
  const start = {
    ...known,
    podNamespace: known.podNamespace ?? namespace,
    ipv6: ipv6 ?? known.ipv6 ?? false,
  };
  const notes = START_SUBSTITUTIONS.filter(
    (s) => start[s] === undefined && config.text.includes(`{{ ${s} }}`),
  ).map((s) => `{{ ${s} }} is known only once the pod exists: left as is`);
  return { text: resolveAtStart(config.text, start), notes };
}

/** The command's action: the configuration on stdout, notes on stderr. */
export async function runBootstrap(flags: BootstrapFlags): Promise<void> {
  let pod: Pod;
  let namespace = flags.namespace;
  if (flags.pod !== undefined) {
    pod = await podFromCluster(flags);
  } else {
    ({ pod, namespace } = injectedPod(podFrom(flags.filename, flags.namespace), flags));
  }
  const { text, notes } = bootstrapOf(pod, namespace, flags.ipv6);
  for (const n of notes) process.stderr.write(`proxy-config: ${n}\n`);
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}
