import type { Condition, SidecarPolicyStatus } from '../api/index.js';
import { findCondition, type ConditionInput } from './conditions.js';
import type { PolicyFacts } from './policy-conditions.js';

/** Reasons of the Events recorded on a SidecarPolicy (CamelCase, stable for alerts). */
export const EventReason = {
  Rendered: 'Rendered',
  Conflict: 'Conflict',
  Synced: 'Synced',
  Failed: 'Failed',
  /** A webhook configuration the policy had in place was deleted or changed, and was put back. */
  WebhookRepaired: 'WebhookRepaired',
  /** A namespace lost or changed the policy's marks, which were put back. */
  MarksRepaired: 'MarksRepaired',
  /** The API server refuses the policy's pods in a namespace (a dry-run create of an injected pod). */
  PodsRefused: 'PodsRefused',
  /** A namespace that refused the policy's pods admits them again. */
  PodsAdmitted: 'PodsAdmitted',
  /** A deleting policy's cleanup failed (retried with backoff until the cleanup timeout). */
  CleanupFailed: 'CleanupFailed',
  /** The cleanup timeout passed: the finalizer was removed with what could not be undone left behind. */
  CleanupAbandoned: 'CleanupAbandoned',
} as const;
export type EventReason = (typeof EventReason)[keyof typeof EventReason];

export interface PolicyEvent {
  type: 'Normal' | 'Warning';
  reason: EventReason;
  message: string;
}

/**
 * The Events a status write records: transitions only (a condition whose status or message changed,
 * a new revision rendered), so that a steady state records none. `inputs` are the conditions just
 * computed (Ready first), `before` those the policy carried.
 */
export function transitionEvents(
  before: { revision?: string; conditions?: Condition[] } | undefined,
  status: Pick<SidecarPolicyStatus, 'revision'>,
  inputs: readonly ConditionInput[],
): PolicyEvent[] {
  const by = (t: string) => inputs.find((c) => c.type === t)!;
  const changed = (t: string) => {
    const prev = findCondition(before?.conditions, t);
    const next = by(t);
    return prev?.status !== next.status || prev.message !== next.message;
  };
  const events: PolicyEvent[] = [];
  const rendered = by('TemplateRendered');
  if (rendered.status === 'True' && status.revision !== before?.revision)
    events.push({
      type: 'Normal',
      reason: EventReason.Rendered,
      message: `rendered revision ${status.revision ?? ''}`,
    });
  const conflict = by('Conflict');
  if (conflict.status === 'True' && changed('Conflict'))
    events.push({ type: 'Warning', reason: EventReason.Conflict, message: conflict.message });
  const synced = by('NamespacesSynced');
  if (synced.status === 'True' && changed('NamespacesSynced'))
    events.push({ type: 'Normal', reason: EventReason.Synced, message: synced.message });
  const ready = by('Ready');
  if (ready.status === 'False' && changed('Ready'))
    events.push({ type: 'Warning', reason: EventReason.Failed, message: ready.message });
  return events;
}

/**
 * The serving certificate as a policy sees it: expired, not yet trusted by the API server (the
 * policy's caBundle lacks a CA of the bundle), or valid. The operator's own apply carries the
 * bundle, so a successful apply means distributed; under cert-manager (or when nothing was
 * applied) the cached configuration says whether the bundle is there.
 */
export function certificateFacts(input: {
  notAfter: Date;
  now: Date;
  /** The cached configuration's caBundle holds every CA of the bundle. */
  inCache: boolean;
  /** The apply of this reconcile: succeeded, failed, or none was made. */
  applied: boolean | undefined;
  certManager: boolean;
}): PolicyFacts['certificate'] {
  const { notAfter, now } = input;
  if (notAfter <= now) return { state: 'Expired', notAfter };
  const distributed = input.certManager || input.applied === undefined ? input.inCache : input.applied;
  return { state: distributed ? 'Valid' : 'NotDistributed', notAfter };
}
