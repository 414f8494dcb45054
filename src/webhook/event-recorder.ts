import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { eventRecorderMetrics } from '../kube/event-metrics.js';
import { QueuedEventRecorder } from '../kube/event-recorder.js';
import { apiEventSink } from '../kube/events.js';

/** `source.component` and `reportingComponent` of the webhook's Events. */
export const WEBHOOK_EVENT_COMPONENT = 'sidecar-operator-webhook';

/**
 * Per owner: a burst of 25 writes, then one every 10 s. A rollout of hundreds of replicas is still
 * one Event per outcome whose count catches up, and a crash-looping Job cannot flood etcd.
 */
export const ADMISSION_EVENT_RATE_LIMIT = { burst: 25, refillMs: 10_000 };

export interface AdmissionEventRecorderOptions {
  /** The replica's identity: `reportingInstance` and `source.host`. */
  instance: string;
  registry: Registry;
  log: Logger;
  clock?: () => Date;
}

/** The webhook's recorder: bounded queue, aggregation over 10 minutes, per-owner rate limit, metrics. */
export function createAdmissionEventRecorder(
  kc: KubeConfig,
  o: AdmissionEventRecorderOptions,
): QueuedEventRecorder {
  const metrics = eventRecorderMetrics(o.registry, WEBHOOK_EVENT_COMPONENT);
  return new QueuedEventRecorder({
    sink: apiEventSink(kc),
    reporter: { component: WEBHOOK_EVENT_COMPONENT, instance: o.instance },
    clock: o.clock ?? (() => new Date()),
    rateLimit: ADMISSION_EVENT_RATE_LIMIT,
    ...metrics,
    onWrite: (verb, ok, err) => {
      metrics.onWrite?.(verb, ok, err);
      if (!ok) o.log.debug({ err, verb }, 'admission event not written');
    },
  });
}
