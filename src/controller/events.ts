import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { API_VERSION, KIND } from '../api/index.js';
import { requestJson } from '../kube/index.js';

export type EventType = 'Normal' | 'Warning';

/** Records core/v1 Events on policies. Failures are logged, never raised: events are best effort. */
export interface EventRecorder {
  record(policy: { name: string; uid: string }, type: EventType, reason: string, message: string): void;
}

/**
 * Cluster-scoped objects have their Events in `default`, where `kubectl describe` looks for them
 * (client-go's recorder does the same).
 */
export function createEventRecorder(
  kc: KubeConfig,
  log: Logger,
  opts: { component: string; instance: string; clock: () => Date },
): EventRecorder {
  return {
    record(policy, type, reason, message) {
      const now = opts.clock().toISOString();
      const body = {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { generateName: `${policy.name}.`, namespace: 'default' },
        involvedObject: { apiVersion: API_VERSION, kind: KIND, name: policy.name, uid: policy.uid },
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
      requestJson(kc, { method: 'POST', path: '/api/v1/namespaces/default/events', body }).catch(
        (err: unknown) => log.debug({ err, reason }, 'event not recorded'),
      );
    },
  };
}
