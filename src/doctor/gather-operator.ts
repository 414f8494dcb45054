import {
  AppsV1Api,
  CoreV1Api,
  DiscoveryV1Api,
  type KubeConfig,
  type V1Lease,
  type V1MutatingWebhookConfiguration,
} from '@kubernetes/client-node';
import { apiFailure, isNotFound, requestJson } from '../kube/index.js';
import type { LeaderLease, OperatorWorkload } from './inputs.js';
import { readReadyz } from './readyz.js';
import { containerTrouble } from './runtime-checks.js';

/** The chart's leaderElection.leaseName, and `run`'s --lease-name, by default. */
export const DEFAULT_LEASE_NAME = 'sidecar-operator-leader';

/** The label the chart puts on the operator's Deployments. */
export const OPERATOR_SELECTOR = 'app.kubernetes.io/part-of=sidecar-operator';

/**
 * Namespaces holding an operator Deployment: where to look when no injector template exists yet (an
 * operator that never reconciled, or was scaled to 0 before it did). Empty without the right to list.
 */
export async function deploymentNamespaces(kc: KubeConfig): Promise<string[]> {
  try {
    const list = await kc
      .makeApiClient(AppsV1Api)
      .listDeploymentForAllNamespaces({ labelSelector: OPERATOR_SELECTOR });
    return [...new Set(list.items.map((d) => d.metadata?.namespace ?? ''))].sort();
  } catch {
    return [];
  }
}

/** The leader election Lease: who holds it and when it was last renewed. */
export async function readLease(kc: KubeConfig, namespace: string, name: string): Promise<LeaderLease> {
  const out: LeaderLease = { namespace, name, found: false };
  try {
    const lease = await requestJson<V1Lease>(kc, {
      path: `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/${name}`,
    });
    out.found = true;
    const spec = lease.spec ?? {};
    if (spec.holderIdentity) out.holder = spec.holderIdentity;
    // MicroTime arrives as a string on the raw path.
    const renew = spec.renewTime as unknown as string | undefined;
    if (renew) out.renewTime = new Date(renew);
    if (spec.leaseDurationSeconds !== undefined) out.durationSeconds = spec.leaseDurationSeconds;
  } catch (err) {
    if (!isNotFound(err)) {
      const f = apiFailure(err);
      out.error = f.code ? `${f.code} ${f.message}` : f.message;
    }
  }
  return out;
}

/**
 * The operator's Deployments (the chart labels them part-of sidecar-operator), /readyz of each of
 * their pods through the API server's pods proxy, and the ready endpoints of the Service its webhook
 * configurations call. Empty when the operator runs outside the cluster.
 */
export async function readWorkload(
  kc: KubeConfig,
  namespace: string,
  mwcs: V1MutatingWebhookConfiguration[],
  timeoutMs: number,
): Promise<OperatorWorkload> {
  const core = kc.makeApiClient(CoreV1Api);
  const deployments = await kc
    .makeApiClient(AppsV1Api)
    .listNamespacedDeployment({ namespace, labelSelector: OPERATOR_SELECTOR });
  const out: OperatorWorkload = { deployments: [], replicas: [] };
  for (const d of deployments.items) {
    const match = d.spec?.selector?.matchLabels ?? {};
    const selector = Object.entries(match)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    const pods = selector ? (await core.listNamespacedPod({ namespace, labelSelector: selector })).items : [];
    const problems = pods.flatMap((p) => {
      const trouble = (p.status?.containerStatuses ?? [])
        .map((s) => containerTrouble(s))
        .find((t) => t !== undefined);
      return trouble ? [`pod ${p.metadata?.name}: ${trouble}`] : [];
    });
    out.deployments.push({
      name: d.metadata?.name ?? '',
      replicas: d.spec?.replicas ?? 1,
      ready: d.status?.readyReplicas ?? 0,
      problems,
    });
    const live = pods.filter((p) => p.metadata?.deletionTimestamp === undefined);
    out.replicas!.push(...(await Promise.all(live.map((p) => readReadyz(kc, namespace, p, timeoutMs)))));
  }
  const svc = mwcs.map((m) => m.webhooks?.[0]?.clientConfig?.service).find((s) => s?.namespace === namespace);
  if (svc?.name) {
    const slices = await kc.makeApiClient(DiscoveryV1Api).listNamespacedEndpointSlice({
      namespace,
      labelSelector: `kubernetes.io/service-name=${svc.name}`,
    });
    const readyEndpoints = slices.items
      .flatMap((s) => s.endpoints ?? [])
      .filter((e) => e.conditions?.ready !== false).length;
    out.service = { name: svc.name, readyEndpoints };
  }
  return out;
}
