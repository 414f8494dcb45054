import {
  AdmissionregistrationV1Api,
  CoreV1Api,
  type KubeConfig,
  type V1Namespace,
  type V1PodList,
} from '@kubernetes/client-node';
import { policyPath, type SidecarPolicy } from '../api/index.js';
import type { Pod } from '../inject/index.js';
import { requestJson } from '../kube/index.js';
import { carriesOtherMesh } from './mesh-checks.js';
import type { MigrationInputs } from './migration.js';

/** Pods are read a page at a time and only those with another mesh's container are kept. */
const PAGE = 500;

async function meshedPods(core: CoreV1Api, namespace: string | undefined): Promise<Pod[]> {
  const out: Pod[] = [];
  let token: string | undefined;
  do {
    const page: V1PodList = namespace
      ? await core.listNamespacedPod({ namespace, limit: PAGE, _continue: token })
      : await core.listPodForAllNamespaces({ limit: PAGE, _continue: token });
    out.push(...(page.items as Pod[]).filter(carriesOtherMesh));
    token = page.metadata?._continue || undefined;
  } while (token);
  return out;
}

/** What `migrate` needs from the cluster: policies, namespaces, pods with another mesh, webhooks. */
export async function gatherMigration(
  kc: KubeConfig,
  opts: { namespace?: string; target?: string; operatorNamespace?: string },
): Promise<MigrationInputs> {
  const core = kc.makeApiClient(CoreV1Api);
  const [policies, namespaces, pods, webhooks] = await Promise.all([
    requestJson<{ items: SidecarPolicy[] }>(kc, { path: policyPath() }).then((l) => l.items),
    core.listNamespace().then((l) => l.items),
    meshedPods(core, opts.namespace),
    kc.makeApiClient(AdmissionregistrationV1Api).listMutatingWebhookConfiguration(),
  ]);
  const inScope = (ns: V1Namespace): boolean =>
    opts.namespace === undefined || ns.metadata?.name === opts.namespace;
  return {
    policies,
    namespaces: opts.namespace === undefined ? namespaces : namespaces.filter(inScope),
    meshedPods: pods,
    webhookConfigurations: webhooks.items,
    ...(opts.target !== undefined ? { target: opts.target } : {}),
    ...(opts.operatorNamespace !== undefined ? { operatorNamespace: opts.operatorNamespace } : {}),
  };
}
