import type { V1ConfigMap, V1MutatingWebhookConfiguration, V1Namespace } from '@kubernetes/client-node';
import { POLICY_LABEL, type SidecarPolicy } from '../api/index.js';
import { canonicalJson } from '../inject/index.js';
import type { InformerEvent } from '../kube/index.js';
import { selectsNamespace } from '../render/namespace-marks.js';
import { OWNER_POLICY_LABEL } from '../render/webhook-configuration.js';

/** Where an event sends the queue: some policies by name, or all of them. */
export type Keys = string[] | 'all';

/**
 * A policy event. A spec or deletion change can move namespaces between policies, so every policy is
 * looked at again; a change of our finalizer concerns only this one; a status-only change (our own
 * write coming back) concerns none.
 */
export function policyKeys(e: InformerEvent<SidecarPolicy>): Keys {
  const name = e.object.metadata?.name ?? '';
  if (e.type !== 'MODIFIED' || !e.old) return 'all';
  const a = e.old.metadata;
  const b = e.object.metadata;
  if (a?.generation !== b?.generation || a?.deletionTimestamp !== b?.deletionTimestamp) return 'all';
  if (canonicalJson(a?.labels) !== canonicalJson(b?.labels)) return 'all';
  if (canonicalJson(a?.finalizers) !== canonicalJson(b?.finalizers)) return [name];
  return [];
}

/** A namespace event concerns every policy that selects it, or whose mark it carries, before or after. */
export function namespaceKeys(e: InformerEvent<V1Namespace>, policies: readonly SidecarPolicy[]): Keys {
  const before = e.old;
  const after = e.object;
  if (
    e.type === 'MODIFIED' &&
    before &&
    canonicalJson(before.metadata?.labels) === canonicalJson(after.metadata?.labels) &&
    canonicalJson(before.metadata?.annotations) === canonicalJson(after.metadata?.annotations) &&
    before.metadata?.deletionTimestamp === after.metadata?.deletionTimestamp
  ) {
    return [];
  }
  const keys = new Set<string>();
  for (const ns of [before, after]) {
    if (!ns) continue;
    const marked = ns.metadata?.labels?.[POLICY_LABEL];
    if (marked) keys.add(marked);
    for (const p of policies) if (selectsNamespace(p, ns)) keys.add(p.metadata?.name ?? '');
  }
  return [...keys];
}

/** The injector ConfigMap holds every policy's entry: any change of its data concerns them all. */
export function configMapKeys(e: InformerEvent<V1ConfigMap>): Keys {
  if (e.type === 'MODIFIED' && e.old && canonicalJson(e.old.data) === canonicalJson(e.object.data)) {
    if (canonicalJson(e.old.metadata?.labels) === canonicalJson(e.object.metadata?.labels)) return [];
  }
  return 'all';
}

/** A webhook configuration concerns the policy it belongs to (deleted ones included: re-create). */
export function webhookKeys(e: InformerEvent<V1MutatingWebhookConfiguration>): Keys {
  const name = e.object.metadata?.labels?.[OWNER_POLICY_LABEL] ?? e.object.metadata?.name ?? '';
  return [name];
}
