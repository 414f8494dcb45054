import { INJECTION_DISABLED, INJECTION_LABEL, NEVER_INJECTED_NAMESPACES } from '../api/index.js';
import type { Pod } from './k8s-types.js';
import {
  istioAnnotationProblems,
  istioInjectIntent,
  istioTemplatesWithoutSidecar,
  type IstioIntent,
} from './istio-annotations.js';
import { ISTIO_INJECTION_LABEL, istioNamespaceState } from './istio-namespaces.js';
import { alreadyMeshed } from './meshed.js';
import { sidecarPresence, type Presence } from './present.js';
import { proxyIdentityClash } from './proxy-identity.js';
import { decision, type InjectDecision } from './reasons.js';
import { matchesSelector } from './selector.js';
import { INJECT_KEY, parseStatus, STATUS_ANNOTATION, type InjectionStatus } from './status.js';
import type { CompiledTemplate } from './template.js';

/** Where the pod is being created. */
export interface InjectContext {
  namespace: string;
  operatorNamespace: string;
  /**
   * The namespace's labels. Given, the policy's namespace selection is checked too (the webhook is
   * only called for governed namespaces, so it may leave this out; offline `inject` has no cluster).
   */
  namespaceLabels?: Record<string, string>;
  /**
   * Render a pod injected with another revision again with this template (offline `inject`);
   * the webhook never does, it sees only CREATE.
   */
  reinject?: boolean;
}

/** Namespaces whose pods make the cluster work: capturing their traffic could break it. */
export const EXCLUDED_NAMESPACES = NEVER_INJECTED_NAMESPACES;
export const NAMESPACE_INJECTION_LABEL = INJECTION_LABEL;

const NO = new Set(['false', 'no', 'n', 'off', '0', 'disabled']);

/**
 * Should this pod get a sidecar? The first rule that says no wins, in the order of Istio's injector:
 * places never injected, then the pod's own wish, then what is already there, then the policy's
 * selection, then whether the pod can be captured at all.
 *
 * "Already there" is read from the containers the pod has, not from its status annotation or
 * revision label, which the pod's author can write: a pod that claims an injection without the
 * containers gets one (its stale annotation replaced); one with only part of a sidecar gets it
 * replaced whole.
 */
export function decideInjection(pod: Pod, template: CompiledTemplate, ctx: InjectContext): InjectDecision {
  const istio = template.compatibility?.istio
    ? istioInjectIntent(pod.metadata?.labels, pod.metadata?.annotations)
    : undefined;
  const early = placeOrWish(pod, ctx, istio) ?? alreadyMeshed(pod, template) ?? istioTemplates(pod, template);
  if (early) return early;
  const status = parseStatus(pod.metadata?.annotations);
  const present = sidecarPresence(pod.spec, template);
  if (present.state === 'complete') {
    const same = status?.policy === template.policy && status.revision === template.revision;
    // Only an offline re-render replaces a whole sidecar, and only one its annotation says is older.
    if (!ctx.reinject || status === undefined || same)
      return decision('AlreadyInjected', found(present, status));
  }
  return (
    namespaceDecision(template, ctx) ??
    podDecision(pod, template, istio) ??
    injected(template, present, status)
  );
}

/** Places never injected, then the pod's own wish: ours, then (with compatibility) Istio's. */
function placeOrWish(
  pod: Pod,
  ctx: InjectContext,
  istio: IstioIntent | undefined,
): InjectDecision | undefined {
  const ns = ctx.namespace;
  if (EXCLUDED_NAMESPACES.includes(ns) || ns === ctx.operatorNamespace)
    return decision('ExcludedNamespace', ns);
  if (pod.spec?.hostNetwork === true) return decision('HostNetwork', '');
  const opted = optOut(pod);
  if (opted) return opted;
  if (istio?.value === false) return decision('OptedOut', istio.source);
  return undefined;
}

/** With compatibility, a pod that asks Istio for templates without its sidecar asks for none here. */
function istioTemplates(pod: Pod, template: CompiledTemplate): InjectDecision | undefined {
  if (!template.compatibility?.istio) return undefined;
  const why = istioTemplatesWithoutSidecar(pod.metadata?.annotations);
  return why === undefined ? undefined : decision('OptedOut', why);
}

/** The podSelector, whether the pod can be captured, and (with compatibility) Istio's annotations. */
function podDecision(
  pod: Pod,
  template: CompiledTemplate,
  istio: IstioIntent | undefined,
): InjectDecision | undefined {
  // Istio's "true" selects the pod whatever the podSelector says, as it beats Istio's own selectors.
  if (istio?.value !== true && !matchesSelector(template.selector.podSelector, pod.metadata?.labels ?? {})) {
    return decision('PodSelectorMismatch', template.policy);
  }
  if (template.interception.mode !== 'None') {
    const clash = proxyIdentityClash(pod.spec, template.interception);
    if (clash !== undefined) return decision('RunsAsProxyIdentity', clash);
  }
  if (template.compatibility?.istio) {
    // Checked last, as Istio does: a pod that is not injected anyway is not refused for them.
    const problems = istioAnnotationProblems(pod.metadata?.annotations ?? {});
    if (problems.length > 0) return decision('InvalidIstioAnnotation', problems.join('; '));
  }
  return undefined;
}

function injected(
  template: CompiledTemplate,
  present: Presence,
  status: InjectionStatus | undefined,
): InjectDecision {
  const current = describe(template.policy, template.revision);
  if (present.state === 'complete' && status !== undefined)
    return decision('Reinjected', `${current}, was ${describe(status.policy, status.revision)}`);
  if (present.state === 'partial')
    return decision(
      'Reinjected',
      `${current}, replacing ${present.found.join(' and ')}, present without ${present.missing.join(' and ')}`,
    );
  if (status !== undefined)
    return decision(
      'Injected',
      `${current}; its ${STATUS_ANNOTATION} annotation named ${describe(status.policy, status.revision)}, but it had no sidecar containers`,
    );
  return decision('Injected', current);
}

/** What the pod has, for AlreadyInjected: its containers, and what its annotation says of them. */
function found(present: Presence, status: InjectionStatus | undefined): string {
  if (status === undefined)
    return `containers ${present.found.join(', ')}, without a ${STATUS_ANNOTATION} annotation`;
  return describe(status.policy, status.revision);
}

/** Only when the namespace's labels are known: disabled namespaces, then the policy's selection. */
function namespaceDecision(template: CompiledTemplate, ctx: InjectContext): InjectDecision | undefined {
  const { namespace: ns, namespaceLabels: labels } = ctx;
  if (labels === undefined) return undefined;
  if (labels[NAMESPACE_INJECTION_LABEL] === INJECTION_DISABLED)
    return decision(
      'NamespaceDisabled',
      `${ns} is labelled ${NAMESPACE_INJECTION_LABEL}=${INJECTION_DISABLED}`,
    );
  const istio = template.compatibility?.istio;
  const byIstio = istio ? istioNamespaceState(labels, istio) : undefined;
  if (byIstio === 'disabled')
    return decision('NamespaceDisabled', `${ns} is labelled ${ISTIO_INJECTION_LABEL}=disabled`);
  const sel = template.selector;
  const byLabels = sel.namespaceSelector !== undefined && matchesSelector(sel.namespaceSelector, labels);
  if (!sel.namespaces.includes(ns) && !byLabels && byIstio !== 'selected')
    return decision('NamespaceNotSelected', ns);
  return undefined;
}

function optOut(pod: Pod): InjectDecision | undefined {
  const label = pod.metadata?.labels?.[INJECT_KEY];
  if (label !== undefined && NO.has(label.toLowerCase()))
    return decision('OptedOut', `label ${INJECT_KEY}=${label}`);
  const note = pod.metadata?.annotations?.[INJECT_KEY];
  if (note !== undefined && NO.has(note.toLowerCase()))
    return decision('OptedOut', `annotation ${INJECT_KEY}=${note}`);
  return undefined;
}

function describe(policy: string, revision: string): string {
  return policy === '' ? 'an unreadable status annotation' : `policy ${policy} revision ${revision}`;
}
