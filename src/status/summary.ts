import { ConditionType, Reason, type SidecarPolicyStatus } from '../api/index.js';
import { canonicalJson } from '../inject/index.js';
import type { ConditionInput } from './conditions.js';

/** The conditions that must all be True for the policy to be in force. */
export const READY_DEPENDENCIES: readonly string[] = [
  ConditionType.TemplateRendered,
  ConditionType.WebhookConfigured,
  ConditionType.NamespacesSynced,
  ConditionType.CertificateReady,
];

/**
 * Conditions that make Ready False only when they are False: Unknown (not checked yet, no verdict,
 * the check turned off) leaves Ready to the dependencies above. PodsAdmissible: a policy whose pods
 * the API server refuses in a governed namespace is not in force there.
 */
export const READY_BLOCKERS: readonly string[] = [ConditionType.PodsAdmissible];

/**
 * A policy that selects namespaces but governs none of them, every one lost to a policy of higher
 * precedence: it is in force nowhere, so it is not Ready (reason NamespaceConflict). A policy that
 * loses only some keeps Ready and shows Conflict=True; one that selects nothing is Ready (nothing
 * to do).
 */
function lostEverything(conditions: readonly ConditionInput[]): ConditionInput | undefined {
  const conflict = conditions.find((x) => x.type === ConditionType.Conflict);
  const namespaces = conditions.find((x) => x.type === ConditionType.NamespacesSynced);
  if (conflict?.status !== 'True' || namespaces?.reason !== Reason.NoNamespacesSelected) return undefined;
  return {
    type: ConditionType.Ready,
    status: 'False',
    reason: Reason.NamespaceConflict,
    message: `governs no namespace: ${conflict.message}`,
  };
}

/**
 * The summary `Ready` condition: the first dependency that is not True decides (its reason and
 * message carried up, so `kubectl get` shows the actual cause), then a policy that lost every
 * namespace it selects (NamespaceConflict), then the first blocker that is False, else Reconciled.
 */
export function summarizeReady(conditions: readonly ConditionInput[]): ConditionInput {
  for (const type of READY_DEPENDENCIES) {
    const c = conditions.find((x) => x.type === type);
    if (!c) {
      return {
        type: ConditionType.Ready,
        status: 'Unknown',
        reason: Reason.Reconciling,
        message: `${type} not evaluated yet`,
      };
    }
    if (c.status !== 'True') {
      return {
        type: ConditionType.Ready,
        status: c.status === 'Unknown' ? 'Unknown' : 'False',
        reason: c.reason,
        message: `${type}: ${c.message}`,
      };
    }
  }
  const lost = lostEverything(conditions);
  if (lost) return lost;
  for (const type of READY_BLOCKERS) {
    const c = conditions.find((x) => x.type === type);
    if (c?.status === 'False')
      return {
        type: ConditionType.Ready,
        status: 'False',
        reason: c.reason,
        message: `${type}: ${c.message}`,
      };
  }
  return {
    type: ConditionType.Ready,
    status: 'True',
    reason: Reason.Reconciled,
    message: 'policy is in force',
  };
}

/** True when writing `next` would change what is stored (key order and absent fields ignored). */
export function statusChanged(current: SidecarPolicyStatus | undefined, next: SidecarPolicyStatus): boolean {
  return canonicalJson(current ?? {}) !== canonicalJson(next);
}
