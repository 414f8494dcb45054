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
