import type { Condition, ConditionStatus } from '../api/index.js';

/** A condition as a check computes it: no timestamps yet. */
export interface ConditionInput {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
}

/**
 * Sets `next` into `conditions` (a new array, same order, new types appended). `lastTransitionTime`
 * moves only when the status flips, as metav1.Condition requires; reason and message follow freely.
 */
export function setCondition(
  conditions: readonly Condition[],
  next: ConditionInput,
  observedGeneration: number | undefined,
  now: Date,
): Condition[] {
  const out = conditions.map((c) => ({ ...c }));
  const i = out.findIndex((c) => c.type === next.type);
  const prev = i >= 0 ? out[i] : undefined;
  const lastTransitionTime = prev && prev.status === next.status ? prev.lastTransitionTime : formatTime(now);
  const cond: Condition = {
    type: next.type,
    status: next.status,
    reason: next.reason,
    message: next.message,
    lastTransitionTime,
    ...(observedGeneration === undefined ? {} : { observedGeneration }),
  };
  if (i >= 0) out[i] = cond;
  else out.push(cond);
  return out;
}

/** Sets every input in turn. */
export function setConditions(
  conditions: readonly Condition[],
  inputs: readonly ConditionInput[],
  observedGeneration: number | undefined,
  now: Date,
): Condition[] {
  return inputs.reduce<Condition[]>(
    (acc, c) => setCondition(acc, c, observedGeneration, now),
    [...conditions],
  );
}

export function findCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** RFC 3339 with second precision, the form metav1.Time serialises to. */
export function formatTime(t: Date): string {
  return `${t.toISOString().slice(0, 19)}Z`;
}

/** True when status, reason or message differ (a transition worth an Event). */
export function conditionChanged(before: Condition | undefined, after: ConditionInput): boolean {
  return (
    before === undefined ||
    before.status !== after.status ||
    before.reason !== after.reason ||
    before.message !== after.message
  );
}
