import { RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OperatorHandle } from '../src/operator/index.js';
import {
  admin,
  cleanupWebhooksAfterAll,
  condition,
  createPolicy,
  deletePolicies,
  getPolicy,
  metric,
  shortId,
  startTestOperator,
  waitReady,
} from './controller-support.js';
import { eventually, testNamespace, userKubeConfig } from './support.js';

const kc = admin();
const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
const id = shortId();
const user = `ctl-limited-${id}`;
const policy = `ctl-${id}-rbac`;
const roles = [`${user}-base`, `${user}-namespaces`];

/** Everything the chart's ClusterRole grants except writing namespaces. */
const baseRules = [
  { apiGroups: ['sidecar.dev'], resources: ['sidecarpolicies'], verbs: ['get', 'list', 'watch', 'patch'] },
  { apiGroups: ['sidecar.dev'], resources: ['sidecarpolicies/status'], verbs: ['patch', 'update'] },
  {
    apiGroups: ['admissionregistration.k8s.io'],
    resources: ['mutatingwebhookconfigurations'],
    verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'],
  },
  { apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: [''], resources: ['pods'], verbs: ['list', 'watch'] },
  { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
  {
    apiGroups: [''],
    resources: ['configmaps', 'secrets'],
    verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
  },
];

async function grant(name: string, rules: typeof baseRules): Promise<void> {
  await rbac.createClusterRole({ body: { metadata: { name }, rules } });
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
    },
  });
}

let operator: OperatorHandle;
cleanupWebhooksAfterAll(kc, () => [policy]);

beforeAll(async () => {
  await grant(roles[0]!, baseRules);
  const opNs = await testNamespace('ctl-rbac-op');
  operator = await startTestOperator(opNs, id, { leaderElect: false, kc: await userKubeConfig(user) });
});

afterAll(async () => {
  try {
    await deletePolicies(kc, [policy]);
  } finally {
    await operator?.stop();
    for (const name of roles) {
      await rbac.deleteClusterRoleBinding({ name }).catch(() => undefined);
      await rbac.deleteClusterRole({ name }).catch(() => undefined);
    }
  }
});

describe('a reconcile the API server refuses', () => {
  it('reports Ready=False with the reason, retries with backoff, and recovers once allowed', async () => {
    const ns = await testNamespace('ctl-rbac');
    await createPolicy(kc, policy, id, { selector: { namespaces: [ns] } });
    // Until the first certificate exists Ready is False for that reason; then the namespace write fails.
    const failed = await eventually(
      async () => {
        const p = await getPolicy(kc, policy);
        return condition(p, 'Ready')?.reason === 'NamespaceSyncFailed' ? p : undefined;
      },
      { what: 'Ready=False because of the namespace write' },
    );
    expect(condition(failed, 'Ready')).toMatchObject({ status: 'False', reason: 'NamespaceSyncFailed' });
    expect(condition(failed, 'Ready')?.message).toMatch(/forbidden/i);
    expect(condition(failed, 'NamespacesSynced')).toMatchObject({
      status: 'False',
      reason: 'NamespaceSyncFailed',
    });
    expect(condition(failed, 'TemplateRendered')?.status).toBe('True');
    expect(condition(failed, 'WebhookConfigured')?.status).toBe('True');

    const retries = metric(operator, 'workqueue_retries_total');
    const errors = metric(operator, 'controller_runtime_reconcile_total', { result: 'error' });
    const r0 = await retries();
    await new Promise((r) => setTimeout(r, 3000));
    const r1 = await retries();
    // 50 ms doubling to 2 s: a handful of retries in 3 s, not a hot loop (and not none).
    expect(r1 - r0).toBeGreaterThanOrEqual(2);
    expect(r1 - r0).toBeLessThan(15);
    expect(await errors()).toBeGreaterThanOrEqual(r1 - r0);

    await grant(roles[1]!, [{ apiGroups: [''], resources: ['namespaces'], verbs: ['patch'] }]);
    const ok = await waitReady(kc, policy, 'True');
    expect(ok.status?.governedNamespaces).toEqual([ns]);
    const p = await eventually(async () => {
      const x = await getPolicy(kc, policy);
      return x?.status?.namespaces === 1 ? x : undefined;
    });
    expect(condition(p, 'NamespacesSynced')?.status).toBe('True');
  });
});
