import type { KubeConfig, V1ObjectMeta, V1OwnerReference } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { INJECT_ANNOTATION, STATUS_ANNOTATION } from '../api/index.js';
import { Informer } from '../kube/index.js';
import type { PodMeta } from '../status/index.js';

/** The annotations the counts and the rollout read; a pod's others are not kept. */
const KEPT_ANNOTATIONS = [INJECT_ANNOTATION, STATUS_ANNOTATION];

/**
 * What the pod cache keeps of a pod's metadata: its identity, labels (podSelectors, the revision
 * label), the opt-out and injection-status annotations, the controlling owner (the rollout restarts
 * it) and whether it is being deleted. Everything else (other annotations, often large, uid,
 * timestamps, generateName, finalizers) is dropped as the pod arrives, so a cache of every pod of a
 * cluster costs what the counts need.
 */
export function slimPod(pod: PodMeta): PodMeta {
  const m = pod.metadata ?? {};
  const meta: V1ObjectMeta = { name: m.name, namespace: m.namespace, resourceVersion: m.resourceVersion };
  if (m.labels && Object.keys(m.labels).length > 0) meta.labels = m.labels;
  let annotations: Record<string, string> | undefined;
  for (const key of KEPT_ANNOTATIONS) {
    const value = m.annotations?.[key];
    if (value !== undefined) (annotations ??= {})[key] = value;
  }
  if (annotations) meta.annotations = annotations;
  const owner = m.ownerReferences?.find((r) => r.controller);
  if (owner) {
    const ref: V1OwnerReference = {
      apiVersion: owner.apiVersion,
      kind: owner.kind,
      name: owner.name,
      uid: owner.uid,
      controller: true,
    };
    meta.ownerReferences = [ref];
  }
  if (m.deletionTimestamp !== undefined) meta.deletionTimestamp = m.deletionTimestamp;
  return { metadata: meta };
}

/**
 * Every pod of the cluster, metadata only (PartialObjectMetadata listed page by page, slimmed to
 * what the counts need as each page arrives), by namespace: status counts and the rollout read it
 * instead of listing pods per reconcile.
 */
export class PodIndex {
  readonly informer: Informer<PodMeta>;

  constructor(kc: KubeConfig, log: Logger) {
    this.informer = new Informer<PodMeta>(kc, {
      path: '/api/v1/pods',
      metadataOnly: true,
      transform: slimPod,
      log,
    });
  }

  inNamespace(namespace: string): Iterable<PodMeta> {
    return this.informer.inNamespace(namespace);
  }

  *inNamespaces(namespaces: readonly string[]): Iterable<PodMeta> {
    for (const ns of namespaces) yield* this.inNamespace(ns);
  }

  get size(): number {
    return this.informer.size;
  }
}
