import { INJECTION_DISABLED, INJECTION_LABEL, NEVER_INJECTED_NAMESPACES } from '../api/index.js';
import type { Pod } from './k8s-types.js';
import { alreadyMeshed } from './meshed.js';
import { decision, type InjectDecision } from './reasons.js';
import { matchesSelector } from './selector.js';
import { INJECT_KEY, parseStatus } from './status.js';
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
 * selection.
 */
export function decideInjection(pod: Pod, template: CompiledTemplate, ctx: InjectContext): InjectDecision {
  const ns = ctx.namespace;
  if (EXCLUDED_NAMESPACES.includes(ns) || ns === ctx.operatorNamespace)
    return decision('ExcludedNamespace', ns);
  if (pod.spec?.hostNetwork === true) return decision('HostNetwork', '');
  const opted = optOut(pod);
  if (opted) return opted;
  const meshed = alreadyMeshed(pod, template);
  if (meshed) return meshed;
  const status = parseStatus(pod.metadata?.annotations);
  if (status !== undefined) {
    const same = status.policy === template.policy && status.revision === template.revision;
    if (!ctx.reinject || same) return decision('AlreadyInjected', describe(status.policy, status.revision));
  }
  const byNamespace = namespaceDecision(template, ctx);
  if (byNamespace) return byNamespace;
  if (!matchesSelector(template.selector.podSelector, pod.metadata?.labels ?? {})) {
    return decision('PodSelectorMismatch', template.policy);
  }
  const current = describe(template.policy, template.revision);
  if (status !== undefined)
    return decision('Reinjected', `${current}, was ${describe(status.policy, status.revision)}`);
  return decision('Injected', current);
}

/** Only when the namespace's labels are known: disabled namespaces, then the policy's selection. */
function namespaceDecision(template: CompiledTemplate, ctx: InjectContext): InjectDecision | undefined {
  const { namespace: ns, namespaceLabels: labels } = ctx;
  if (labels === undefined) return undefined;
  if (labels[NAMESPACE_INJECTION_LABEL] === INJECTION_DISABLED) return decision('NamespaceDisabled', ns);
  const sel = template.selector;
  const byLabels = sel.namespaceSelector !== undefined && matchesSelector(sel.namespaceSelector, labels);
  if (!sel.namespaces.includes(ns) && !byLabels) return decision('NamespaceNotSelected', ns);
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
