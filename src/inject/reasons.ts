/**
 * Why a pod was or was not injected. Codes are CamelCase (usable as Event and Condition reasons);
 * each maps to a sentence for logs, Events and `inject` output.
 */
export type ReasonCode =
  | 'Injected'
  | 'Reinjected'
  | 'ExcludedNamespace'
  | 'HostNetwork'
  | 'OptedOut'
  | 'AlreadyInjected'
  | 'AlreadyMeshed'
  | 'NamespaceDisabled'
  | 'NamespaceNotSelected'
  | 'PodSelectorMismatch'
  | 'RunsAsProxyIdentity'
  | 'InvalidIstioAnnotation';

export interface InjectDecision {
  inject: boolean;
  /** Present, and true, when the pod must not be admitted at all (the webhook denies it). */
  refuse?: true;
  reason: ReasonCode;
  message: string;
}

const sentences: Record<ReasonCode, (detail: string) => string> = {
  Injected: (d) => `pod injected with ${d}`,
  Reinjected: (d) => `pod re-injected with ${d}`,
  ExcludedNamespace: (d) => `namespace ${d} is never injected`,
  HostNetwork: () => 'pod uses the host network, where interception would capture the node’s traffic',
  OptedOut: (d) => `pod opted out with ${d}`,
  AlreadyInjected: (d) => `pod already carries a sidecar (${d})`,
  AlreadyMeshed: (d) =>
    `pod already carries another mesh’s sidecar (${d}); a second would capture the same traffic twice`,
  NamespaceDisabled: (d) => `namespace ${d}`,
  NamespaceNotSelected: (d) => `namespace ${d} is not selected by the policy`,
  PodSelectorMismatch: (d) => `pod labels do not match the podSelector of policy ${d}`,
  RunsAsProxyIdentity: (d) =>
    `pod refused: ${d}, the sidecar proxy’s own; the capture rules let the proxy’s traffic through by UID and GID, so this container’s traffic would bypass the sidecar. Run it as another user and group, or opt the pod out with the annotation sidecar.dev/inject: "false"`,
  InvalidIstioAnnotation: (d) =>
    `pod refused: ${d}. Istio refuses such a pod too; correct the annotation or remove it`,
};

/** Reasons that deny the pod rather than admit it without a sidecar. */
const REFUSALS: ReadonlySet<ReasonCode> = new Set(['RunsAsProxyIdentity', 'InvalidIstioAnnotation']);

export function decision(reason: ReasonCode, detail: string): InjectDecision {
  return {
    inject: reason === 'Injected' || reason === 'Reinjected',
    ...(REFUSALS.has(reason) ? { refuse: true as const } : {}),
    reason,
    message: sentences[reason](detail),
  };
}
