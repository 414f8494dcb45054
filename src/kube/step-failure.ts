import { apiFailure, describeFailure, isConflict, type ApiFailure } from './errors.js';

/** The parts of a reconcile that can fail on their own; the others go on. */
export type ReconcileStep =
  | 'finalizer'
  | 'configmap'
  | 'webhook'
  | 'namespace'
  | 'rollout'
  | 'status'
  | 'cleanup'
  /** Not attributed to a step (an unexpected exception). */
  | 'reconcile';

export interface ObjectRef {
  kind: string;
  name: string;
  namespace?: string;
}

/** One failed step: which, on which object, and what the API server answered. */
export interface StepFailure {
  step: ReconcileStep;
  object: ObjectRef;
  failure: ApiFailure;
}

export const stepFailure = (step: ReconcileStep, object: ObjectRef, err: unknown): StepFailure => ({
  step,
  object,
  failure: apiFailure(err),
});

/** `Kind/namespace/name` (the rollout's workload keys) as a reference. */
export function refOfKey(key: string): ObjectRef {
  const [kind = '', namespace = '', name = ''] = key.split('/');
  return { kind, namespace, name };
}

export const describeObject = (o: ObjectRef): string =>
  `${o.kind} ${o.namespace ? `${o.namespace}/` : ''}${o.name}`;

/** One line for a log or an Event: `Namespace a: 403 Forbidden: …`. */
export const describeStepFailure = (f: StepFailure): string =>
  `${describeObject(f.object)}: ${describeFailure(f.failure)}`;

/**
 * A reconcile that failed at one or more steps, after the others ran and the status was written.
 * The failures stay data, so the retry decision reads codes, never this message.
 */
export class ReconcileError extends Error {
  constructor(readonly failures: readonly StepFailure[]) {
    super(failures.map(describeStepFailure).join('; '));
    this.name = 'ReconcileError';
  }
}

/**
 * What the queue does after a failed reconcile: only conflicts (a stale resourceVersion, which the
 * next read fixes) are `requeue`, logged quietly; anything else is `backoff`. Both go through the
 * per-key rate limiter.
 */
export type RetryAction = 'requeue' | 'backoff';

export function retryAction(failures: readonly StepFailure[]): RetryAction {
  return failures.length > 0 && failures.every((f) => isConflict(f.failure)) ? 'requeue' : 'backoff';
}

/** The failures of any error a reconcile raised: its steps, or one unattributed failure. */
export function failuresOf(err: unknown, policy: string): readonly StepFailure[] {
  if (err instanceof ReconcileError) return err.failures;
  return [stepFailure('reconcile', { kind: 'SidecarPolicy', name: policy }, err)];
}
