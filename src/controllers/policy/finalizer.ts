import type { KubeConfig } from '@kubernetes/client-node';
import { FINALIZER, policyPath, type SidecarPolicy } from '../../api/index.js';
import { jsonPatch } from '../../kube/index.js';

/**
 * Adds our finalizer with a JSON Patch guarded by the resourceVersion we read, so a concurrent
 * change makes it fail (409/422) rather than overwrite anyone's finalizers.
 */
export async function addFinalizer(kc: KubeConfig, policy: SidecarPolicy): Promise<SidecarPolicy> {
  const name = policy.metadata?.name ?? '';
  const rv = policy.metadata?.resourceVersion ?? '';
  const list = policy.metadata?.finalizers;
  const ops = list
    ? [
        { op: 'test', path: '/metadata/resourceVersion', value: rv },
        { op: 'add', path: '/metadata/finalizers/-', value: FINALIZER },
      ]
    : [
        { op: 'test', path: '/metadata/resourceVersion', value: rv },
        { op: 'add', path: '/metadata/finalizers', value: [FINALIZER] },
      ];
  return jsonPatch<SidecarPolicy>(kc, policyPath(name), ops);
}

export const hasFinalizer = (p: SidecarPolicy): boolean =>
  p.metadata?.finalizers?.includes(FINALIZER) ?? false;

/** How long a deleting policy keeps its finalizer while its cleanup fails (default 5 min). */
export const DEFAULT_CLEANUP_TIMEOUT_MS = 300_000;

/**
 * A deleting policy whose cleanup failed: keep the finalizer and retry, or let the policy go with
 * what could not be undone left behind. Deletion must never stick forever on a write the operator
 * is not allowed to make (RBAC), nor on an object someone else holds; so once `timeoutMs` has passed
 * since the deletion was asked for, it lets go.
 */
export function cleanupVerdict(o: {
  deletionTimestamp: Date | string | undefined;
  now: Date;
  timeoutMs: number;
}): { giveUp: boolean; leftMs: number } {
  const since = o.deletionTimestamp ? new Date(o.deletionTimestamp).getTime() : o.now.getTime();
  const leftMs = since + o.timeoutMs - o.now.getTime();
  return { giveUp: leftMs <= 0, leftMs: Math.max(0, leftMs) };
}
