import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { API_VERSION, KIND } from '../api/index.js';
import { QueuedEventRecorder } from './event-recorder.js';
import { apiEventSink, type EventType, type InvolvedObject } from './events.js';

/** Records core/v1 Events. Failures are logged, never raised: events are best effort. */
export interface EventRecorder {
  /** An Event on a SidecarPolicy. */
  record(policy: { name: string; uid: string }, type: EventType, reason: string, message: string): void;
  /** An Event on any object (the certificate Secret, for rotation steps). */
  recordOn(object: InvolvedObject, type: EventType, reason: string, message: string): void;
}

/**
 * The controller's Events: each call is its own Event (the controller records transitions, which
 * do not repeat), written in the background through the shared bounded queue.
 */
export function createEventRecorder(
  kc: KubeConfig,
  log: Logger,
  opts: { component: string; instance: string; clock: () => Date },
): EventRecorder {
  const recorder = new QueuedEventRecorder({
    sink: apiEventSink(kc),
    reporter: { component: opts.component, instance: opts.instance },
    clock: opts.clock,
    aggregateWindowMs: 0,
    onWrite: (verb, ok, err) => {
      if (!ok) log.debug({ err, verb }, 'event not recorded');
    },
    onDrop: (reason) => log.debug({ reason }, 'event dropped'),
  });
  const recordOn = (object: InvolvedObject, type: EventType, reason: string, message: string): void =>
    recorder.record({ object, type, reason, message });
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
