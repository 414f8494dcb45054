import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Admission latency buckets: injection is sub-millisecond for ordinary pods, so start at 0.5 ms. */
export const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export interface WebhookMetrics {
  duration: Histogram<'result'>;
  requests: Counter<'result' | 'reason'>;
  injected: Counter<'policy'>;
  unknownPolicy: Counter;
  ready: Gauge;
}

/** Reuses a metric already in the registry (a second server on the same registry, tests). */
function reuse<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

/**
 * The webhook's metrics, registered in the registry the process shares with the controller.
 * Labels are bounded: results and reasons are closed sets, and `policy` is only ever a loaded
 * template's name (an unknown policy comes from the request path, so it is counted without a label).
 */
export function createWebhookMetrics(registry: Registry): WebhookMetrics {
  const registers = [registry];
  return {
    duration: reuse(
      registry,
      'sidecar_webhook_admission_duration_seconds',
      () =>
        new Histogram({
          name: 'sidecar_webhook_admission_duration_seconds',
          help: 'Time to answer an admission review, from the first byte of the body to the response.',
          labelNames: ['result'],
          buckets: DURATION_BUCKETS,
          registers,
        }),
    ),
    requests: reuse(
      registry,
      'sidecar_webhook_admission_requests_total',
      () =>
        new Counter({
          name: 'sidecar_webhook_admission_requests_total',
          help: 'Admission requests by result (injected, skipped, refused, ignored, unknown_policy, error, invalid, throttled, unauthenticated) and reason.',
          labelNames: ['result', 'reason'],
          registers,
        }),
    ),
    injected: reuse(
      registry,
      'sidecar_webhook_injected_pods_total',
      () =>
        new Counter({
          name: 'sidecar_webhook_injected_pods_total',
          help: 'Pods admitted with a sidecar, by policy.',
          labelNames: ['policy'],
          registers,
        }),
    ),
    unknownPolicy: reuse(
      registry,
      'sidecar_webhook_unknown_policy_total',
      () =>
        new Counter({
          name: 'sidecar_webhook_unknown_policy_total',
          help: 'Admission requests for a policy the injector has no template for (admitted without a sidecar).',
          registers,
        }),
    ),
    ready: reuse(
      registry,
      'sidecar_webhook_ready',
      () =>
        new Gauge({
          name: 'sidecar_webhook_ready',
          help: '1 when the webhook has templates and a serving certificate loaded and is not shutting down.',
          registers,
        }),
    ),
  };
}
