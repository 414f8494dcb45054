import type { KubeConfig } from '@kubernetes/client-node';
import { requestJson } from './request.js';

export type EventType = 'Normal' | 'Warning';

/** The object an Event is about. */
export interface InvolvedObject {
  apiVersion: string;
  kind: string;
  name: string;
  /**
   * Unset only for an object that does not exist yet (a named pod being admitted): the Event is then
   * found by kind, namespace and name.
   */
  uid?: string;
  /** Unset for cluster-scoped objects. */
  namespace?: string;
}

/** One occurrence to report. */
export interface EventInput {
  object: InvolvedObject;
  type: EventType;
  /** CamelCase, stable: what alerts and `kubectl get events --field-selector reason=` match. */
  reason: string;
  message: string;
}

/** Who reports: `source.component` / `reportingComponent`, and the replica (`reportingInstance`). */
export interface EventReporter {
  component: string;
  instance: string;
}

/** The fields of a core/v1 Event this package writes. */
export interface EventBody {
  apiVersion: 'v1';
  kind: 'Event';
  metadata: { generateName: string; namespace: string };
  involvedObject: InvolvedObject;
  type: EventType;
  reason: string;
  message: string;
  source: { component: string; host: string };
  reportingComponent: string;
  reportingInstance: string;
  firstTimestamp: string;
  lastTimestamp: string;
  count: number;
}

/** The API server refuses messages over 1 KiB (core/v1 validation). */
export const MAX_EVENT_MESSAGE = 1024;

/**
 * Cluster-scoped objects have their Events in `default`, where `kubectl describe` looks for them
 * (client-go's recorder does the same); namespaced ones in their own namespace.
 */
export const eventNamespace = (object: InvolvedObject): string => object.namespace ?? 'default';

export function eventBody(
  ev: EventInput,
  reporter: EventReporter,
  at: { first: Date; last: Date; count: number },
): EventBody {
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { generateName: `${ev.object.name}.`, namespace: eventNamespace(ev.object) },
    involvedObject: ev.object,
    type: ev.type,
    reason: ev.reason,
    message: ev.message.slice(0, MAX_EVENT_MESSAGE),
    source: { component: reporter.component, host: reporter.instance },
    reportingComponent: reporter.component,
    reportingInstance: reporter.instance,
    firstTimestamp: at.first.toISOString(),
    lastTimestamp: at.last.toISOString(),
    count: at.count,
  };
}

/** Where Events go: the API server, or a fake in unit tests. */
export interface EventSink {
  /** Creates the Event; resolves to the name the server chose. */
  create(body: EventBody): Promise<string>;
  /** Bumps an Event already written (count, lastTimestamp); rejects with a 404 once it expired. */
  update(namespace: string, name: string, change: { count: number; lastTimestamp: string }): Promise<void>;
}

/** core/v1 Events through the API server: POST to create, merge patch to aggregate. */
export function apiEventSink(kc: KubeConfig): EventSink {
  return {
    async create(body) {
      const created = await requestJson<{ metadata?: { name?: string } }>(kc, {
        method: 'POST',
        path: `/api/v1/namespaces/${body.metadata.namespace}/events`,
        body,
      });
      return created.metadata?.name ?? '';
    },
    async update(namespace, name, change) {
      await requestJson(kc, {
        method: 'PATCH',
        path: `/api/v1/namespaces/${namespace}/events/${encodeURIComponent(name)}`,
        body: change,
        contentType: 'application/merge-patch+json',
      });
    },
  };
}
