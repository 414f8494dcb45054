import type { KubeConfig, V1Pod, V1PodList } from '@kubernetes/client-node';
import { INJECT_ANNOTATION, REVISION_LABEL, type LabelSelector } from '../api/index.js';
import { matchesSelector } from '../inject/selector.js';
import { requestJson } from '../kube/index.js';

export interface PodCounts {
  injected: number;
  outdated: number;
  uninjected: number;
}

const OPTED_OUT = new Set(['false', 'no', 'n', 'off', '0', 'disabled']);

function optedOut(pod: V1Pod): boolean {
  const v = pod.metadata?.labels?.[INJECT_ANNOTATION] ?? pod.metadata?.annotations?.[INJECT_ANNOTATION];
  return v !== undefined && OPTED_OUT.has(v.toLowerCase());
}

async function listPods(kc: KubeConfig, namespace: string, labelSelector: string): Promise<V1Pod[]> {
  const list = await requestJson<V1PodList>(kc, {
    path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`,
    query: { labelSelector },
  });
  return list.items.filter((p) => p.metadata?.deletionTimestamp === undefined);
}

/**
 * Counts pods in one namespace with two label-selector lists (no pod cache): pods carrying the
 * revision label are injected (outdated when it is not `revision`); pods without it that the
 * policy's podSelector matches and that did not opt out are uninjected. hostNetwork pods are never
 * injected and so are not counted as missed.
 */
export async function countPods(
  kc: KubeConfig,
  namespace: string,
  revision: string,
  podSelector: LabelSelector | undefined,
): Promise<PodCounts> {
  const [withLabel, without] = await Promise.all([
    listPods(kc, namespace, REVISION_LABEL),
    listPods(kc, namespace, `!${REVISION_LABEL}`),
  ]);
  const outdated = withLabel.filter((p) => p.metadata?.labels?.[REVISION_LABEL] !== revision).length;
  const uninjected = without.filter(
    (p) =>
      p.spec?.hostNetwork !== true && !optedOut(p) && matchesSelector(podSelector, p.metadata?.labels ?? {}),
  ).length;
  return { injected: withLabel.length, outdated, uninjected };
}

/** Sums the counts over `namespaces`, a few namespaces at a time. */
export async function countPodsIn(
  kc: KubeConfig,
  namespaces: readonly string[],
  revision: string,
  podSelector: LabelSelector | undefined,
  concurrency = 8,
): Promise<PodCounts> {
  const total: PodCounts = { injected: 0, outdated: 0, uninjected: 0 };
  for (let i = 0; i < namespaces.length; i += concurrency) {
    const batch = await Promise.all(
      namespaces.slice(i, i + concurrency).map((ns) => countPods(kc, ns, revision, podSelector)),
    );
    for (const c of batch) {
      total.injected += c.injected;
      total.outdated += c.outdated;
      total.uninjected += c.uninjected;
    }
  }
  return total;
}
