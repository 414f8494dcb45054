import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { API_VERSION, KIND } from '../api/index.js';
import { requestJson } from '../kube/index.js';

export type EventType = 'Normal' | 'Warning';

/** The object an Event is about. */
export interface InvolvedObject {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  /** Unset for cluster-scoped objects. */
  namespace?: string;
}

/** Records core/v1 Events. Failures are logged, never raised: events are best effort. */
export interface EventRecorder {
  /** An Event on a SidecarPolicy. */
  record(policy: { name: string; uid: string }, type: EventType, reason: string, message: string): void;
  /** An Event on any object (the certificate Secret, for rotation steps). */
  recordOn(object: InvolvedObject, type: EventType, reason: string, message: string): void;
}

/**
 * Cluster-scoped objects have their Events in `default`, where `kubectl describe` looks for them
 * (client-go's recorder does the same); namespaced ones in their own namespace.
 */
export function createEventRecorder(
  kc: KubeConfig,
  log: Logger,
  opts: { component: string; instance: string; clock: () => Date },
): EventRecorder {
  const recordOn = (object: InvolvedObject, type: EventType, reason: string, message: string): void => {
    const now = opts.clock().toISOString();
    const namespace = object.namespace ?? 'default';
    const body = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { generateName: `${object.name}.`, namespace },
      involvedObject: object,
      type,
      reason,
      message: message.slice(0, 1024),
      source: { component: opts.component, host: opts.instance },
      reportingComponent: opts.component,
      reportingInstance: opts.instance,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    requestJson(kc, { method: 'POST', path: `/api/v1/namespaces/${namespace}/events`, body }).catch(
      (err: unknown) => log.debug({ err, reason }, 'event not recorded'),
    );
  };
  return {
    record(policy, type, reason, message) {
      recordOn(
        { apiVersion: API_VERSION, kind: KIND, name: policy.name, uid: policy.uid },
        type,
        reason,
        message,
      );
    },
    recordOn,
  };
}
