import type { Container } from './k8s-types.js';

interface Lifecycle {
  preStop?: { sleep?: { seconds: number } };
  [key: string]: unknown;
}

/**
 * The API server refuses a preStop sleep that is not shorter than the pod's
 * terminationGracePeriodSeconds ("must be non-negative and less than terminationGracePeriodSeconds"),
 * so a pod with a short grace period would be refused outright. The proxy's drain pause is shortened
 * to fit (one second under the grace period), or dropped when nothing fits.
 */
export function fitPreStopToGrace(container: Container, graceSeconds: number | undefined): Container {
  const lifecycle = container.lifecycle as Lifecycle | undefined;
  const sleep = lifecycle?.preStop?.sleep;
  if (graceSeconds === undefined || sleep === undefined || sleep.seconds < graceSeconds) return container;
  const rest: Lifecycle = { ...lifecycle };
  delete rest.preStop;
  if (graceSeconds > 1) rest.preStop = { sleep: { seconds: graceSeconds - 1 } };
  const out: Container = { ...container };
  if (Object.keys(rest).length > 0) out.lifecycle = rest;
  else delete out.lifecycle;
  return out;
}
