import type { OverrideName } from './generated/sidecarpolicy.js';

export const GROUP = 'sidecar.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = 'SidecarPolicy';
export const LIST_KIND = 'SidecarPolicyList';
export const PLURAL = 'sidecarpolicies';
export const SINGULAR = 'sidecarpolicy';
export const SHORT_NAME = 'sp';
export const CRD_NAME = `${PLURAL}.${GROUP}`;

/** REST path of the policy collection, or of one policy (policies are cluster-scoped). */
export function policyPath(name?: string): string {
  const base = `/apis/${GROUP}/${VERSION}/${PLURAL}`;
  return name === undefined ? base : `${base}/${encodeURIComponent(name)}`;
}

/** REST path of a policy's status subresource. */
export function policyStatusPath(name: string): string {
  return `${policyPath(name)}/status`;
}

/** Server-side apply field manager for everything the operator writes. */
export const FIELD_MANAGER = 'sidecar-operator';

/** Finalizer that lets the operator remove namespace marks before a policy goes. */
export const FINALIZER = `${GROUP}/cleanup`;

/** Namespace label naming the policy that governs it (the webhook's namespaceSelector matches it). */
export const POLICY_LABEL = `${GROUP}/policy`;

/**
 * Whether a policy's name can be the value of POLICY_LABEL (a label value, at most 63 characters).
 * The CRD refuses other names, but a policy stored before that rule may still carry one: such a
 * policy can never mark a namespace, so it must govern none.
 */
export function isPolicyLabelValue(name: string): boolean {
  return name.length <= 63 && /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(name);
}
/** Namespace annotation with the governing policy's revision; also a label on injected pods. */
export const REVISION_ANNOTATION = `${GROUP}/revision`;
export const REVISION_LABEL = REVISION_ANNOTATION;
/** Namespace label; the value `disabled` keeps every policy away from the namespace. */
export const INJECTION_LABEL = `${GROUP}/injection`;
export const INJECTION_DISABLED = 'disabled';
/** Pod annotation or label; `"false"` opts the pod out. */
export const INJECT_ANNOTATION = `${GROUP}/inject`;
export const INJECT_LABEL = INJECT_ANNOTATION;
/** Pod annotation recording what was injected (policy, revision, containers, volumes): the idempotency marker. */
export const STATUS_ANNOTATION = `${GROUP}/status`;

/** Namespaces that are never injected, whatever a policy selects (plus the operator's own). */
export const NEVER_INJECTED_NAMESPACES: readonly string[] = ['kube-system', 'kube-public', 'kube-node-lease'];

/**
 * Pod-template annotations a rollout (strategy Restart) writes, as `kubectl rollout restart` writes
 * kubectl.kubernetes.io/restartedAt: the time, and the revision the workload was restarted for
 * (so it is never restarted twice for one revision).
 */
export const RESTARTED_AT_ANNOTATION = `${GROUP}/restartedAt`;
export const RESTARTED_FOR_ANNOTATION = `${GROUP}/restartedFor`;

/** Names of the containers the injection adds. */
export const PROXY_CONTAINER = 'sidecar-proxy';
export const INIT_CONTAINER = 'sidecar-init';

/**
 * The pod annotation each allowedOverrides name unlocks: traffic settings under traffic.sidecar.dev/
 * (as Istio's traffic.sidecar.istio.io/), proxy resources under sidecar.dev/.
 */
export const OVERRIDE_ANNOTATIONS: Readonly<Record<OverrideName, string>> = {
  includeOutboundIPRanges: 'traffic.sidecar.dev/includeOutboundIPRanges',
  excludeOutboundIPRanges: 'traffic.sidecar.dev/excludeOutboundIPRanges',
  includeInboundPorts: 'traffic.sidecar.dev/includeInboundPorts',
  excludeInboundPorts: 'traffic.sidecar.dev/excludeInboundPorts',
  excludeOutboundPorts: 'traffic.sidecar.dev/excludeOutboundPorts',
  interceptionMode: 'traffic.sidecar.dev/interceptionMode',
  proxyCPU: 'sidecar.dev/proxyCPU',
  proxyMemory: 'sidecar.dev/proxyMemory',
  proxyCPULimit: 'sidecar.dev/proxyCPULimit',
  proxyMemoryLimit: 'sidecar.dev/proxyMemoryLimit',
};

/** Every override name, in the schema's order. */
export const OVERRIDE_NAMES = Object.keys(OVERRIDE_ANNOTATIONS) as readonly OverrideName[];
