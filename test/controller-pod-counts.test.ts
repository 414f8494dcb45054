import { RbacAuthorizationV1Api, type V1PolicyRule } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PODS_NOT_COUNTED } from '../src/controllers/policy/reconciler.js';
import type { OperatorHandle } from '../src/operator/index.js';
import { holder, renderRoles } from './chart-rbac-support.js';
import {
  admin,
  cleanupWebhooksAfterAll,
  condition,
  createInjectedPod,
  createPolicy,
  deletePolicies,
  getPolicy,
  podSpec,
  shortId,
  startTestOperator,
  waitReady,
} from './controller-support.js';
import { eventually, testNamespace, userKubeConfig } from './support.js';

const kc = admin();
const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
const id = shortId();
const user = `no-pods-${id}`;
const policy = `no-pods-${id}`;
let operator: OperatorHandle;

cleanupWebhooksAfterAll(kc, () => [policy]);

beforeAll(async () => {
  const opNs = await testNamespace('no-pods-op');
  // What the chart grants with podCounting.enabled=false (and the admission check, which creates dry-run
  // pods, off): no permission on pods at all.
  const chart = await renderRoles(opNs, ['podCounting.enabled=false', 'admissionCheck.enabled=false']);
  const roleRef = (kind: string) => ({ apiGroup: 'rbac.authorization.k8s.io', kind, name: user });
  const subjects = [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }];
  const rules = (kind: string): V1PolicyRule[] =>
    chart.find((r) => r.kind === kind && holder(r, opNs) === 'operator')!.rules!;
  expect(JSON.stringify(rules('ClusterRole'))).not.toContain('pods');
  await rbac.createClusterRole({ body: { metadata: { name: user }, rules: rules('ClusterRole') } });
  await rbac.createClusterRoleBinding({
    body: { metadata: { name: user }, roleRef: roleRef('ClusterRole'), subjects },
  });
  await rbac.createNamespacedRole({
    namespace: opNs,
    body: { metadata: { name: user }, rules: rules('Role') },
  });
  await rbac.createNamespacedRoleBinding({
    namespace: opNs,
    body: { metadata: { name: user }, roleRef: roleRef('Role'), subjects },
  });
  operator = await startTestOperator(opNs, id, {
    leaderElect: false,
    podCounts: false,
    admissionCheck: false,
    kc: await userKubeConfig(user),
  });
});

afterAll(async () => {
  try {
    await deletePolicies(kc, [policy]);
  } finally {
    await operator?.stop();
    await rbac.deleteClusterRoleBinding({ name: user }).catch(() => undefined);
    await rbac.deleteClusterRole({ name: user }).catch(() => undefined);
  }
});

describe('--pod-counts=false, without any permission on pods', () => {
  it('puts the policy in force and reports its pod counts as unknown, not as zero', async () => {
    const ns = await testNamespace('no-pods');
    await createPolicy(kc, policy, id, { selector: { namespaces: [ns] } });
    const ready = await waitReady(kc, policy, 'True');
    expect(ready.status?.namespaces).toBe(1);
    await createInjectedPod(kc, ns, podSpec('app'));
    // A few resyncs (2 s) later: still no counts, and the condition says why.
    await new Promise((r) => setTimeout(r, 3000));
    const p = await eventually(async () => {
      const x = await getPolicy(kc, policy);
      return condition(x, 'RolloutComplete') ? x : undefined;
    });
    expect(p.status?.injectedPods).toBeUndefined();
    expect(p.status?.outdatedPods).toBeUndefined();
    expect(p.status?.uninjectedPods).toBeUndefined();
    expect(condition(p, 'RolloutComplete')).toMatchObject({
      status: 'Unknown',
      reason: 'PodsNotCounted',
      message: PODS_NOT_COUNTED.message,
    });
    expect(condition(p, 'Ready')?.status).toBe('True');
  });
});
