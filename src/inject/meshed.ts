import type { Pod } from './k8s-types.js';
import { decision, type InjectDecision } from './reasons.js';
import { parseStatus } from './status.js';
import { INIT_CONTAINER_NAME, PROXY_CONTAINER_NAME, type CompiledTemplate } from './template.js';

/**
 * Containers other meshes' injectors add, by name. Any one of them means the pod's traffic is
 * already captured: a second iptables program and a second proxy on the same ports would break it.
 */
export const FOREIGN_MESH_CONTAINERS: Readonly<Record<string, string>> = {
  'istio-proxy': 'Istio',
  'istio-init': 'Istio',
  'istio-validation': 'Istio',
  'linkerd-proxy': 'Linkerd',
  'linkerd-init': 'Linkerd',
  'linkerd-network-validator': 'Linkerd',
};

const OURS: readonly string[] = [INIT_CONTAINER_NAME, PROXY_CONTAINER_NAME];

/** The containers' names; tolerant of what a pod's author may write, since it runs before validation. */
function names(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  return (list as unknown[])
    .map((c) => (typeof c === 'object' && c !== null ? (c as { name?: unknown }).name : undefined))
    .filter((n): n is string => typeof n === 'string');
}

/**
 * AlreadyMeshed when the pod carries another mesh's sidecar or init container, or ours put there
 * under another policy (as its status annotation says). Decided from the containers the pod
 * has, not from annotations its author could set: the status annotation only tells whose our
 * containers are. A pod with our containers and this policy's status is left to the AlreadyInjected
 * rule, and so is an unreadable status.
 */
export function alreadyMeshed(pod: Pod, template: CompiledTemplate): InjectDecision | undefined {
  const present = [...names(pod.spec?.initContainers), ...names(pod.spec?.containers)];
  const foreign = present.filter((n) => Object.hasOwn(FOREIGN_MESH_CONTAINERS, n));
  if (foreign.length > 0) {
    const mesh = FOREIGN_MESH_CONTAINERS[foreign[0]!]!;
    return decision('AlreadyMeshed', `${mesh}: ${foreign.join(', ')}`);
  }
  const ours = present.filter((n) => OURS.includes(n));
  if (ours.length === 0) return undefined;
  // Our containers without a status annotation are ours as far as anyone can tell: the
  // AlreadyInjected rule decides from the containers themselves (a half sidecar is replaced whole).
  const status = parseStatus(pod.metadata?.annotations);
  if (status === undefined || status.policy === '' || status.policy === template.policy) return undefined;
  return decision('AlreadyMeshed', `${ours.join(', ')} of policy ${status.policy}`);
}
