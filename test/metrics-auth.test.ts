import { request } from 'node:http';
import { CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OperatorHandle } from '../src/operator/index.js';
import { admin, shortId, startTestOperator } from './controller-support.js';
import { testNamespace } from './support.js';

const kc = admin();
const core = kc.makeApiClient(CoreV1Api);
const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
const id = shortId();
const reader = `metrics-reader-${id}`;
let operator: OperatorHandle;
let ns: string;

function get(port: number, token?: string): Promise<{ status: number; body: string; auth?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/metrics',
        headers: token ? { authorization: `Bearer ${token}` } : {},
      },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body,
            ...(res.headers['www-authenticate'] ? { auth: res.headers['www-authenticate'] } : {}),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function token(sa: string): Promise<string> {
  await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: sa } } });
  const tr = await core.createNamespacedServiceAccountToken({
    namespace: ns,
    name: sa,
    body: { spec: { audiences: [], expirationSeconds: 600 } },
  });
  return tr.status?.token ?? '';
}

beforeAll(async () => {
  ns = await testNamespace('metrics-auth');
  operator = await startTestOperator(ns, id, {
    leaderElect: false,
    metricsPort: 0,
    metricsAuth: 'kubernetes',
  });
  await rbac.createClusterRole({
    body: { metadata: { name: reader }, rules: [{ nonResourceURLs: ['/metrics'], verbs: ['get'] }] },
  });
});

afterAll(async () => {
  await operator?.stop();
  await rbac.deleteClusterRoleBinding({ name: reader }).catch(() => undefined);
  await rbac.deleteClusterRole({ name: reader }).catch(() => undefined);
});

describe('/metrics with --metrics-auth=kubernetes', () => {
  it('answers only a token the API server authenticates and allows get on /metrics', async () => {
    const port = operator.metricsPort!;
    const none = await get(port);
    expect(none.status).toBe(401);
    expect(none.auth).toBe('Bearer');
    expect(none.body).not.toContain('sidecar_');
    expect((await get(port, 'not-a-token')).status).toBe(401);

    const prometheus = await token('prometheus');
    const stranger = await token('stranger');
    const denied = await get(port, stranger);
    expect(denied.status).toBe(403);
    expect(denied.body).toContain(`system:serviceaccount:${ns}:stranger may not get /metrics`);
    // Not yet bound: refused too (and that verdict is cached for this token).
    expect((await get(port, prometheus)).status).toBe(403);

    await rbac.createClusterRoleBinding({
      body: {
        metadata: { name: reader },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: reader },
        subjects: [{ kind: 'ServiceAccount', name: 'prometheus', namespace: ns }],
      },
    });
    // A fresh token of the same account is a new cache entry: reviewed again, now allowed.
    const fresh = (
      await core.createNamespacedServiceAccountToken({
        namespace: ns,
        name: 'prometheus',
        body: { spec: { audiences: [], expirationSeconds: 600 } },
      })
    ).status?.token;
    const ok = await get(port, fresh ?? '');
    expect(ok.status).toBe(200);
    expect(ok.body).toContain('sidecar_webhook_ready');
    expect((await get(port, stranger)).status).toBe(403);
  });

  it('keeps a verdict for its TTL: a scrape does not cost two reviews each time', async () => {
    const port = operator.metricsPort!;
    const t = await token('often');
    for (let i = 0; i < 20; i++) expect((await get(port, t)).status).toBe(403);
    // Allowed now, but the cached verdict (60 s) still holds: the API server was not asked again.
    await rbac.createClusterRoleBinding({
      body: {
        metadata: { name: `${reader}-often` },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: reader },
        subjects: [{ kind: 'ServiceAccount', name: 'often', namespace: ns }],
      },
    });
    try {
      await new Promise((r) => setTimeout(r, 500));
      expect((await get(port, t)).status).toBe(403);
    } finally {
      await rbac.deleteClusterRoleBinding({ name: `${reader}-often` }).catch(() => undefined);
    }
  });
});
