import { createHash } from 'node:crypto';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { requestJson } from '../kube/index.js';

/** What the server answers a scrape of /metrics: served, or refused with this status. */
export type MetricsVerdict = { allowed: true } | { allowed: false; status: 401 | 403 | 503; reason: string };

/** Decides on a request's `Authorization` header; never throws. */
export type MetricsAuthorizer = (authorization: string | undefined) => Promise<MetricsVerdict>;

export interface KubernetesMetricsAuthOptions {
  log: Logger;
  /** How long a token's verdict is kept (default 60 s): a scrape every 15–30 s asks the API server rarely. */
  ttlMs?: number;
  /** Verdicts kept at once (default 1,024); the oldest go first. */
  maxEntries?: number;
  now?: () => number;
}

interface TokenReview {
  status?: {
    authenticated?: boolean;
    error?: string;
    user?: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> };
  };
}

interface SubjectAccessReview {
  status?: { allowed?: boolean; denied?: boolean; reason?: string };
}

/** The path and verb a token must be allowed, as kube-rbac-proxy checks them. */
export const METRICS_PATH = '/metrics';

const UNAUTHENTICATED: MetricsVerdict = { allowed: false, status: 401, reason: 'a bearer token is required' };

/**
 * /metrics behind the API server's own authentication and authorization, as kube-rbac-proxy does:
 * the bearer token is sent in a TokenReview; the user it names must be allowed `get` on the
 * non-resource URL /metrics (a SubjectAccessReview), which a ClusterRole with
 * `nonResourceURLs: [/metrics]` grants. Verdicts are cached by the token's SHA-256 (never the token
 * itself); an API server that cannot answer is a 503, not cached.
 */
export function kubernetesMetricsAuthorizer(
  kc: KubeConfig,
  o: KubernetesMetricsAuthOptions,
): MetricsAuthorizer {
  const ttl = o.ttlMs ?? 60_000;
  const max = o.maxEntries ?? 1024;
  const now = o.now ?? Date.now;
  const cache = new Map<string, { verdict: Promise<MetricsVerdict>; expires: number }>();

  async function review(token: string): Promise<MetricsVerdict> {
    const tr = await requestJson<TokenReview>(kc, {
      method: 'POST',
      path: '/apis/authentication.k8s.io/v1/tokenreviews',
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } },
    });
    const user = tr.status?.user;
    if (!tr.status?.authenticated || !user?.username)
      return { allowed: false, status: 401, reason: 'the token is not valid' };
    const sar = await requestJson<SubjectAccessReview>(kc, {
      method: 'POST',
      path: '/apis/authorization.k8s.io/v1/subjectaccessreviews',
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: {
          user: user.username,
          ...(user.uid ? { uid: user.uid } : {}),
          groups: user.groups ?? [],
          ...(user.extra ? { extra: user.extra } : {}),
          nonResourceAttributes: { path: METRICS_PATH, verb: 'get' },
        },
      },
    });
    if (sar.status?.allowed === true) return { allowed: true };
    return { allowed: false, status: 403, reason: `${user.username} may not get ${METRICS_PATH}` };
  }

  return async (authorization) => {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!m) return UNAUTHENTICATED;
    const key = createHash('sha256').update(m[1]!).digest('hex');
    const t = now();
    const hit = cache.get(key);
    if (hit && hit.expires > t) return hit.verdict;
    cache.delete(key);
    if (cache.size >= max) cache.delete(cache.keys().next().value!);
    const verdict = review(m[1]!).catch((err: unknown): MetricsVerdict => {
      cache.delete(key);
      o.log.warn({ err }, 'could not review a /metrics token');
      return { allowed: false, status: 503, reason: 'the API server could not review the token' };
    });
    cache.set(key, { verdict, expires: t + ttl });
    return verdict;
  };
}
