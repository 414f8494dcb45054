import { HttpMethod, RequestContext, type KubeConfig } from '@kubernetes/client-node';
import { fetch } from 'undici';
import { KubeError } from './errors.js';

export interface RawRequest {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path under the server, e.g. /api/v1/namespaces. */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  /** Accept header (default application/json), e.g. to ask for PartialObjectMetadata. */
  accept?: string;
  signal?: AbortSignal;
}

function url(kc: KubeConfig, path: string, query: RawRequest['query'] = {}): URL {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  const u = new URL(cluster.server.replace(/\/+$/, '') + path);
  for (const [k, v] of Object.entries(query)) if (v !== undefined) u.searchParams.set(k, String(v));
  return u;
}

/**
 * A JSON request through the kubeconfig's credentials and connection pool, for the generic
 * paths the typed clients do not cover (collections of any resource, watches of custom resources).
 */
export async function requestJson<T>(kc: KubeConfig, req: RawRequest): Promise<T> {
  const target = url(kc, req.path, req.query);
  const method = req.method ?? 'GET';
  const ctx = new RequestContext(target.toString(), HttpMethod[method]);
  await kc.applySecurityAuthentication(ctx);
  const headers: Record<string, string> = { ...ctx.getHeaders(), accept: req.accept ?? 'application/json' };
  if (req.body !== undefined) headers['content-type'] = req.contentType ?? 'application/json';
  const res = await fetch(target, {
    method,
    headers,
    body: req.body === undefined ? undefined : JSON.stringify(req.body),
    dispatcher: ctx.getDispatcher(),
    signal: req.signal,
  });
  const text = await res.text();
  if (res.status < 200 || res.status > 299)
    throw KubeError.fromResponse(`${method} ${req.path}`, res.status, text);
  return (text ? JSON.parse(text) : undefined) as T;
}

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

/**
 * Streams a watch (`?watch=true`) until the server ends it, `signal` aborts it, or the
 * connection fails (rejects). Each line is one event. Unlike client-node's Watch there is no
 * client-side inactivity limit: the server-side `timeoutSeconds` bounds the request.
 */
export async function streamWatch<T>(
  kc: KubeConfig,
  req: Omit<RawRequest, 'method' | 'body'>,
  onEvent: (e: WatchEvent<T>) => void,
): Promise<void> {
  const target = url(kc, req.path, { ...req.query, watch: true });
  const ctx = new RequestContext(target.toString(), HttpMethod.GET);
  await kc.applySecurityAuthentication(ctx);
  const res = await fetch(target, {
    headers: { ...ctx.getHeaders(), accept: req.accept ?? 'application/json' },
    dispatcher: ctx.getDispatcher(),
    signal: req.signal,
  });
  if (res.status !== 200) throw KubeError.fromResponse(`watch ${req.path}`, res.status, await res.text());
  if (!res.body) return;
  const decoder = new TextDecoder();
  let buffered = '';
  try {
    for await (const chunk of res.body) {
      buffered += decoder.decode(chunk as Uint8Array, { stream: true });
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (line) onEvent(JSON.parse(line) as WatchEvent<T>);
      }
    }
  } catch (err) {
    if (req.signal?.aborted) return;
    throw err;
  }
}
