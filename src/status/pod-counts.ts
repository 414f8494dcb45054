import type { V1ObjectMeta } from '@kubernetes/client-node';
import { INJECT_ANNOTATION, PROXY_CONTAINER, REVISION_LABEL, type LabelSelector } from '../api/index.js';
import { canonicalJson } from '../inject/index.js';
import { matchesSelector } from '../inject/selector.js';
import { parseStatus } from '../inject/status.js';

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

/**
 * The revision a pod was injected with, or undefined when its metadata does not show an injection:
 * the revision label alone proves nothing (a pod's author can set it), so it counts only next to a
 * status annotation, as the webhook writes them together, that names the proxy container at the
 * same revision. The pod cache holds metadata only, so the containers themselves are not seen here:
 * a pod whose author later edits both in is still counted (the webhook, which sees containers,
 * injects a pod created with them; `doctor` checks the containers of a pod it is asked about).
 */
export function injectedRevision(pod: PodMeta): string | undefined {
  const label = pod.metadata?.labels?.[REVISION_LABEL];
  if (label === undefined) return undefined;
  const status = parseStatus(pod.metadata?.annotations);
  if (status?.revision !== label) return undefined;
  const named =
    status.initContainers.includes(PROXY_CONTAINER) || status.containers.includes(PROXY_CONTAINER);
  return named ? label : undefined;
}

/** Injected with another revision than `revision`: the pod's sidecar is stale. */
export function isOutdated(pod: PodMeta, revision: string): boolean {
  const injected = injectedRevision(pod);
  return injected !== undefined && injected !== revision;
}

/**
 * Counts pods of governed namespaces from their metadata: pods that show an injection
 * (`injectedRevision`) are injected (outdated when not at `revision`); the others that the
 * podSelector matches and that did not opt out are uninjected. Pods being deleted are not counted.
 * Metadata has no `spec.hostNetwork`, so a hostNetwork pod (never injected) counts as uninjected
 * unless it opts out.
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
    const injected = injectedRevision(p);
    if (injected !== undefined) {
      counts.injected++;
      if (injected !== revision) counts.outdated++;
    } else if (!optedOut(p) && matchesSelector(podSelector, labels)) {
      counts.uninjected++;
    }
  }
  return counts;
}

/**
 * Whether a pod event can change a count or a rollout: creation, deletion, a label change (revision,
 * podSelector), the opt-out annotation, owners, or the start of a deletion. Status-only updates of a
 * pod (most of its life) change nothing here and are ignored.
 */
export function podEventMatters(e: {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: PodMeta;
  old?: PodMeta;
}): boolean {
  if (e.type !== 'MODIFIED' || !e.old) return true;
  const a = e.old.metadata;
  const b = e.object.metadata;
  return (
    canonicalJson(a?.labels) !== canonicalJson(b?.labels) ||
    a?.annotations?.[INJECT_ANNOTATION] !== b?.annotations?.[INJECT_ANNOTATION] ||
    (a?.deletionTimestamp === undefined) !== (b?.deletionTimestamp === undefined) ||
    canonicalJson(a?.ownerReferences) !== canonicalJson(b?.ownerReferences)
  );
}
