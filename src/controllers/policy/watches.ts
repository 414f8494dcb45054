import type { V1ConfigMap, V1MutatingWebhookConfiguration, V1Namespace } from '@kubernetes/client-node';
import { POLICY_LABEL, type SidecarPolicy } from '../../api/index.js';
import { canonicalJson } from '../../inject/index.js';
import type { InformerEvent } from '../../kube/index.js';
import { TEMPLATE_KEY, templatePolicy } from '../../render/injector-configmap.js';
import { selectsNamespace } from '../../render/namespace-marks.js';
import { OWNER_POLICY_LABEL } from '../../render/webhook-configuration.js';

/** Where an event sends the queue: some policies by name, or all of them. */
export type Keys = string[] | 'all';

const nameOf = (p: SidecarPolicy): string => p.metadata?.name ?? '';

/** What decides which namespaces a policy governs: a change of it can move namespaces between policies. */
const placement = (p: SidecarPolicy | undefined): string =>
  canonicalJson({
    selector: p?.spec.selector,
    priority: p?.spec.priority ?? 0,
    deleting: p?.metadata?.deletionTimestamp !== undefined,
    labels: p?.metadata?.labels,
  });

/**
 * The policies a change of `changed` (before and after) can affect besides itself: every policy
 * that selects a namespace it selects, and those whose mark such a namespace carries (they may
 * win or lose the namespace, or gain or lose a Conflict).
 */
export function overlappingPolicies(
  changed: readonly (SidecarPolicy | undefined)[],
  policies: readonly SidecarPolicy[],
  namespaces: readonly V1Namespace[],
): Set<string> {
  const keys = new Set<string>();
  for (const c of changed) if (c) keys.add(nameOf(c));
  for (const ns of namespaces) {
    if (!changed.some((c) => c && selectsNamespace(c, ns))) continue;
    const marked = ns.metadata?.labels?.[POLICY_LABEL];
    if (marked) keys.add(marked);
    for (const p of policies) if (selectsNamespace(p, ns)) keys.add(nameOf(p));
  }
  return keys;
}

/**
 * A policy event. Creation, deletion, or a change of selector, priority or labels concerns the
 * policy and those it overlaps with; any other spec change (a new revision) or a finalizer change
 * concerns only this one; a status-only change (our own write coming back) concerns none.
 */
export function policyKeys(
  e: InformerEvent<SidecarPolicy>,
  policies: readonly SidecarPolicy[],
  namespaces: readonly V1Namespace[],
): Keys {
  const name = nameOf(e.object);
  const old = e.type === 'ADDED' ? undefined : e.old;
  const now = e.type === 'DELETED' ? undefined : e.object;
  if (e.type !== 'MODIFIED' || placement(old) !== placement(now))
    return [...overlappingPolicies([old ?? e.old, now], policies, namespaces)];
  const a = e.old?.metadata;
  const b = e.object.metadata;
  if (a?.generation !== b?.generation) return [name];
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
    for (const p of policies) if (selectsNamespace(p, ns)) keys.add(nameOf(p));
  }
  return [...keys];
}

/**
 * A policy's injector template ConfigMap concerns its policy only (a deleted one is written again; a
 * leftover of a deleted policy is removed by an unsharded controller). An unchanged template and
 * labels (a resync) concern none.
 */
export function configMapKeys(e: InformerEvent<V1ConfigMap>): Keys {
  const before = e.type === 'MODIFIED' ? e.old : undefined;
  if (
    before &&
    before.data?.[TEMPLATE_KEY] === e.object.data?.[TEMPLATE_KEY] &&
    canonicalJson(before.metadata?.labels) === canonicalJson(e.object.metadata?.labels)
  )
    return [];
  const policy = templatePolicy(e.object) ?? (before ? templatePolicy(before) : undefined);
  return policy ? [policy] : [];
}

/** A webhook configuration concerns the policy it belongs to (deleted ones included: re-create). */
export function webhookKeys(e: InformerEvent<V1MutatingWebhookConfiguration>): Keys {
  const name = e.object.metadata?.labels?.[OWNER_POLICY_LABEL] ?? e.object.metadata?.name ?? '';
  return [name];
}

/** A pod event concerns the policy whose mark its namespace carries (counts, rollout). */
export function podKeys(
  namespace: string,
  namespaces: { get(name: string): V1Namespace | undefined },
): string[] {
  const marked = namespaces.get(namespace)?.metadata?.labels?.[POLICY_LABEL];
  return marked ? [marked] : [];
}
