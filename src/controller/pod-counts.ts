import type { V1ObjectMeta } from '@kubernetes/client-node';
import { INJECT_ANNOTATION, REVISION_LABEL, type LabelSelector } from '../api/index.js';
import { matchesSelector } from '../inject/selector.js';

/** A pod as the metadata-only cache holds it: no spec, no status. */
export interface PodMeta {
  apiVersion?: string;
  kind?: string;
  metadata?: V1ObjectMeta;
}

export interface PodCounts {
  injected: number;
  outdated: number;
  uninjected: number;
}

const OPTED_OUT = new Set(['false', 'no', 'n', 'off', '0', 'disabled']);

export function optedOut(pod: PodMeta): boolean {
  const v = pod.metadata?.labels?.[INJECT_ANNOTATION] ?? pod.metadata?.annotations?.[INJECT_ANNOTATION];
  return v !== undefined && OPTED_OUT.has(v.toLowerCase());
}

/** Injected with another revision than `revision`: the pod's sidecar is stale. */
export function isOutdated(pod: PodMeta, revision: string): boolean {
  const label = pod.metadata?.labels?.[REVISION_LABEL];
  return label !== undefined && label !== revision;
}

/**
 * Counts pods of governed namespaces from their metadata: the revision label marks injected pods
 * (outdated when it is not `revision`); pods without it that the podSelector matches and that did
 * not opt out are uninjected. Pods being deleted are not counted. Metadata has no
 * `spec.hostNetwork`, so a hostNetwork pod (never injected) counts as uninjected unless it opts out.
 */
export function countPods(
  pods: Iterable<PodMeta>,
  revision: string,
  podSelector: LabelSelector | undefined,
): PodCounts {
  const counts: PodCounts = { injected: 0, outdated: 0, uninjected: 0 };
  for (const p of pods) {
    if (p.metadata?.deletionTimestamp !== undefined) continue;
    const labels = p.metadata?.labels ?? {};
    if (labels[REVISION_LABEL] !== undefined) {
      counts.injected++;
      if (labels[REVISION_LABEL] !== revision) counts.outdated++;
    } else if (!optedOut(p) && matchesSelector(podSelector, labels)) {
      counts.uninjected++;
    }
  }
  return counts;
}
