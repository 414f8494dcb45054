import { HttpMethod, RequestContext, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { fetch } from 'undici';
import type { ReplicaReadiness } from './inputs.js';

/** The container port the chart names for the plain-HTTP /healthz, /readyz and /metrics. */
export const PROBE_PORT_NAME = 'probes';
/** The webhook's port, which serves /readyz too (over TLS) when no probe port is configured. */
export const WEBHOOK_PORT_NAME = 'webhook';

/**
 * The pods-proxy segment for a pod's /readyz: `<pod>:<port>` for the plain-HTTP probe port, else
 * `https:<pod>:<port>` for the webhook's. The pods proxy takes port numbers only, so they are read
 * from the pod's containers.
 */
export function readyzTarget(pod: V1Pod): string | undefined {
  const name = pod.metadata?.name ?? '';
  const ports = (pod.spec?.containers ?? []).flatMap((c) => c.ports ?? []);
  const probes = ports.find((p) => p.name === PROBE_PORT_NAME);
  if (probes) return `${name}:${probes.containerPort}`;
  const webhook = ports.find((p) => p.name === WEBHOOK_PORT_NAME);
  return webhook ? `https:${name}:${webhook.containerPort}` : undefined;
}

/** GET /readyz of one operator pod through the API server's pods proxy; never throws. */
export async function readReadyz(
  kc: KubeConfig,
  namespace: string,
  pod: V1Pod,
  timeoutMs: number,
): Promise<ReplicaReadiness> {
  const name = pod.metadata?.name ?? '';
  const target = readyzTarget(pod);
  if (target === undefined) return { pod: name, error: 'it declares no probes or webhook port' };
  if (!pod.status?.podIP) return { pod: name, error: `it has no IP yet (${pod.status?.phase ?? 'Pending'})` };
  const cluster = kc.getCurrentCluster();
  if (!cluster) return { pod: name, error: 'the kubeconfig has no current cluster' };
  const path = `/api/v1/namespaces/${namespace}/pods/${encodeURIComponent(target)}/proxy/readyz`;
  const url = cluster.server.replace(/\/+$/, '') + path;
  try {
    const ctx = new RequestContext(url, HttpMethod.GET);
    await kc.applySecurityAuthentication(ctx);
    const res = await fetch(url, {
      headers: { ...ctx.getHeaders(), accept: 'text/plain, */*' },
      dispatcher: ctx.getDispatcher(),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = (await res.text()).trim().slice(0, 200);
    return { pod: name, httpStatus: res.status, body };
  } catch (err) {
    return { pod: name, error: (err as Error).message };
  }
}
