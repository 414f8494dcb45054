import { ConditionType, Reason } from '../api/index.js';
import type { ConditionInput } from './conditions.js';

/** Pod Security levels that refuse sidecar-init's NET_ADMIN and NET_RAW. */
export type RefusingPodSecurity = 'baseline' | 'restricted';

/** What the API server said to a dry-run create of a representative injected pod in one namespace. */
export type NamespaceVerdict =
  | { state: 'admitted' }
  /** Refused by admission (Pod Security, quota, LimitRange, a webhook): pods there would not be created. */
  | { state: 'refused'; message: string; podSecurity?: RefusingPodSecurity }
  /** No verdict: no answer, no permission, a webhook that cannot dry-run… Retried sooner. */
  | { state: 'unknown'; message: string };

export interface AdmissionFacts {
  /** False when the check is turned off. */
  enabled: boolean;
  /** Every governed namespace; `verdict` undefined until its first check came back. */
  namespaces: readonly { namespace: string; verdict?: NamespaceVerdict }[];
}

/** Namespaces named in a message; the rest are counted. */
const SHOWN = 3;

const cond = (status: ConditionInput['status'], reason: string, message: string): ConditionInput => ({
  type: ConditionType.PodsAdmissible,
  status,
  reason,
  message,
});

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The ways out of a Pod Security level that refuses the init container's capabilities. */
export function podSecurityWaysOut(level: RefusingPodSecurity): string {
  return (
    `Pod Security "${level}" refuses sidecar-init's NET_ADMIN and NET_RAW capabilities; ` +
    "either exempt the namespace in the API server's PodSecurity admission configuration " +
    '(exemptions.namespaces), label it pod-security.kubernetes.io/enforce=privileged, ' +
    'or set spec.interception.mode: None and let a CNI plugin redirect the traffic'
  );
}

function listed(
  entries: readonly { namespace: string; message: string }[],
  total: number,
  what: string,
): string {
  const shown = entries
    .slice(0, SHOWN)
    .map((e) => `${e.namespace}: ${e.message}`)
    .join('; ');
  const more = entries.length > SHOWN ? ` (and ${entries.length - SHOWN} more)` : '';
  return `${what} in ${entries.length} of ${plural(total, 'governed namespace')}: ${shown}${more}`;
}

/**
 * PodsAdmissible from the per-namespace verdicts. A refusal anywhere decides (False, the server's
 * words and the namespaces, the first few and a count, with the ways out of Pod Security); then a
 * check that got no verdict or has not run yet (Unknown); else True.
 */
export function podsAdmissibleCondition(f: AdmissionFacts): ConditionInput {
  if (!f.enabled) {
    return cond(
      'Unknown',
      Reason.AdmissionCheckDisabled,
      'the admission check is turned off (--admission-check=false): whether the API server admits injected pods is not checked',
    );
  }
  const total = f.namespaces.length;
  if (total === 0)
    return cond('True', Reason.NoNamespacesSelected, 'no namespace is governed by this policy');
  const refused: { namespace: string; message: string; podSecurity?: RefusingPodSecurity }[] = [];
  const failed: { namespace: string; message: string }[] = [];
  let pending = 0;
  for (const { namespace, verdict } of f.namespaces) {
    if (verdict === undefined) pending++;
    else if (verdict.state === 'refused') refused.push({ namespace, ...verdict });
    else if (verdict.state === 'unknown') failed.push({ namespace, message: verdict.message });
  }
  if (refused.length > 0) {
    const level = refused.find((r) => r.podSecurity !== undefined)?.podSecurity;
    const hint = level ? `. ${podSecurityWaysOut(level)}` : '';
    return cond(
      'False',
      Reason.PodsRefused,
      listed(refused, total, 'the API server refuses injected pods') + hint,
    );
  }
  if (failed.length > 0)
    return cond('Unknown', Reason.AdmissionCheckFailed, listed(failed, total, 'no verdict'));
  // No count of what is left: the message (and so the status) changes once, not at every verdict.
  if (pending > 0) {
    return cond(
      'Unknown',
      Reason.AdmissionCheckPending,
      `not every one of the ${plural(total, 'governed namespace')} has been checked yet`,
    );
  }
  return cond(
    'True',
    Reason.PodsAdmitted,
    `a dry-run injected pod is admitted in ${total === 1 ? 'the governed namespace' : `all ${total} governed namespaces`}`,
  );
}
