import { ConditionType, type SidecarPolicy } from '../api/index.js';
import { findCondition } from './conditions.js';

/** Pod states of `sidecar_policy_pods`: the status' injectedPods, outdatedPods, uninjectedPods. */
export const POD_STATES = ['injected', 'outdated', 'uninjected'] as const;
export type PodState = (typeof POD_STATES)[number];

/** One policy's gauges, read from the status the controller wrote. */
export interface PolicyGauges {
  policy: string;
  /** 1 when Ready is True, else 0 (False, Unknown or not reported yet). */
  ready: number;
  /** 1 when Conflict is True (another policy governs a namespace this one selects), else 0. */
  conflict: number;
  /** Governed namespaces; absent before the first status write. */
  namespaces?: number;
  /** Absent when pods are not counted (--pod-counts=false) or not yet. */
  pods?: Record<PodState, number>;
}

const isTrue = (p: SidecarPolicy, type: string): number =>
  findCondition(p.status?.conditions, type)?.status === 'True' ? 1 : 0;

/**
 * The gauges of each policy, from its stored status: what `kubectl get sp` shows, as numbers.
 * Policies being deleted are left out (their series disappear with them).
 */
export function policyGauges(policies: Iterable<SidecarPolicy>): PolicyGauges[] {
  const out: PolicyGauges[] = [];
  for (const p of policies) {
    const name = p.metadata?.name;
    if (!name || p.metadata?.deletionTimestamp !== undefined) continue;
    const s = p.status ?? {};
    const g: PolicyGauges = {
      policy: name,
      ready: isTrue(p, ConditionType.Ready),
      conflict: isTrue(p, ConditionType.Conflict),
    };
    if (s.namespaces !== undefined) g.namespaces = s.namespaces;
    if (s.injectedPods !== undefined && s.outdatedPods !== undefined && s.uninjectedPods !== undefined)
      g.pods = { injected: s.injectedPods, outdated: s.outdatedPods, uninjected: s.uninjectedPods };
    out.push(g);
  }
  return out.sort((a, b) => a.policy.localeCompare(b.policy));
}
