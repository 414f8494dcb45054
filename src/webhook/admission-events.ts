import type { EventInput, InvolvedObject } from '../kube/events.js';
import type { AdmissionRequest } from './codec.js';
import { HandlerReasons, type AdmissionOutcome } from './handler.js';
import { isObject } from './json.js';

/** The Event reasons the webhook records (stable: alerts and field selectors match them). */
export const AdmissionEventReasons = {
  Injected: 'Injected',
  Skipped: 'InjectionSkipped',
  Failed: 'InjectionFailed',
  Refused: 'InjectionRefused',
} as const;

/** Where the webhook sends its Events; `record` must return at once (see QueuedEventRecorder). */
export interface AdmissionEventRecorder {
  record(event: EventInput): void;
}

/**
 * Skips not worth an Event: with `reinvocationPolicy: IfNeeded` the API server may call the webhook
 * again for a pod it has just injected, and that second call always says AlreadyInjected.
 */
const QUIET = new Set<string>(['AlreadyInjected']);

/** Skips that leave a pod in a state someone should look at: two meshes were about to meet. */
const WARNING_SKIPS = new Set<string>(['AlreadyMeshed']);

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * Who the Event is about: the pod's controlling owner (a ReplicaSet, a Job, a StatefulSet…), where
 * `kubectl describe` of the workload shows it and where the replicas of one workload aggregate into
 * one Event. A pod without one but with a name gets it on itself (no uid yet: the pod does not exist
 * until admission ends, so it is found by name, not by `describe`). A bare pod named by
 * `generateName` has no name yet either: there is nothing to attach an Event to, and the decision is
 * only in the logs and the audit annotation.
 */
export function eventTarget(req: AdmissionRequest): InvolvedObject | undefined {
  const namespace = req.namespace;
  const meta = isObject(req.object) && isObject(req.object.metadata) ? req.object.metadata : {};
  if (namespace === undefined || namespace === '') return undefined;
  const refs = Array.isArray(meta.ownerReferences) ? (meta.ownerReferences as unknown[]) : [];
  const owner = refs.find((r): r is Record<string, unknown> => isObject(r) && r.controller === true);
  if (owner) {
    const [apiVersion, kind, name, uid] = [owner.apiVersion, owner.kind, owner.name, owner.uid].map(str);
    if (apiVersion && kind && name && uid) return { apiVersion, kind, name, uid, namespace };
  }
  const name = str(req.name) ?? str(meta.name);
  return name ? { apiVersion: 'v1', kind: 'Pod', name, namespace } : undefined;
}

/**
 * The Event for one admission decision, or none: not for requests that are not pod creations, not
 * for dry runs (the webhook declares no side effects), not for quiet skips. The message leaves the
 * pod's name out so that every replica of a workload with the same outcome is one Event with a count.
 */
export function admissionEvent(
  policy: string,
  req: AdmissionRequest,
  outcome: AdmissionOutcome,
): EventInput | undefined {
  if (req.dryRun || outcome.result === 'ignored' || QUIET.has(outcome.reason)) return undefined;
  const object = eventTarget(req);
  if (!object) return undefined;
  const named = outcome.reason === HandlerReasons.UnknownPolicy ? '' : ` (policy ${policy})`;
  switch (outcome.result) {
    case 'injected':
      // A warning (a Classic proxy in a Job's pod) must reach whoever reads the Job's Events: the Job
      // controller, which created the pod, ignores admission warnings.
      if (outcome.warnings && outcome.warnings.length > 0)
        return {
          object,
          type: 'Warning',
          reason: AdmissionEventReasons.Injected,
          message: `${outcome.message}; ${outcome.warnings.join('; ')}`,
        };
      return { object, type: 'Normal', reason: AdmissionEventReasons.Injected, message: outcome.message };
    case 'skipped':
    case 'unknown_policy':
      return {
        object,
        type: WARNING_SKIPS.has(outcome.reason) ? 'Warning' : 'Normal',
        reason: AdmissionEventReasons.Skipped,
        message: `${outcome.reason}: ${outcome.message}${named}`,
      };
    case 'refused':
      return {
        object,
        type: 'Warning',
        reason: AdmissionEventReasons.Refused,
        message: `${outcome.reason}: ${outcome.message}${named}`,
      };
    case 'error':
      return {
        object,
        type: 'Warning',
        reason: AdmissionEventReasons.Failed,
        message: `${outcome.reason}: ${outcome.message}${named}`,
      };
  }
}
