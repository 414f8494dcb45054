import { Counter, type Registry } from 'prom-client';
import type { EventRecorderOptions } from './event-recorder.js';

type Hooks = Pick<EventRecorderOptions, 'onDrop' | 'onWrite' | 'onAggregate'>;

function reuse<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

/**
 * Counters for a QueuedEventRecorder, labelled by the reporting component so that the controller's
 * and the webhook's recorders share the same series names.
 */
export function eventRecorderMetrics(registry: Registry, component: string): Hooks {
  const registers = [registry];
  const dropped = reuse(
    registry,
    'sidecar_events_dropped_total',
    () =>
      new Counter({
        name: 'sidecar_events_dropped_total',
        help: 'Events not recorded: queue_full (the write queue was at its bound), rate_limited (too many for one object), stopped.',
        labelNames: ['component', 'reason'],
        registers,
      }),
  );
  const writes = reuse(
    registry,
    'sidecar_events_writes_total',
    () =>
      new Counter({
        name: 'sidecar_events_writes_total',
        help: 'Event writes to the API server: create (a new Event) or update (a count bump), by result.',
        labelNames: ['component', 'verb', 'result'],
        registers,
      }),
  );
  const aggregated = reuse(
    registry,
    'sidecar_events_aggregated_total',
    () =>
      new Counter({
        name: 'sidecar_events_aggregated_total',
        help: 'Occurrences folded into an existing Event (its count) instead of a new one.',
        labelNames: ['component'],
        registers,
      }),
  );
  return {
    onDrop: (reason) => dropped.inc({ component, reason }),
    onWrite: (verb, ok) => writes.inc({ component, verb, result: ok ? 'ok' : 'error' }),
    onAggregate: () => aggregated.inc({ component }),
  };
}
