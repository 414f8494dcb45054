import { AppsV1Api, CoreV1Api, type V1Deployment, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { policyPath, type SidecarPolicy } from '../src/api/index.js';
import { requestJson } from '../src/kube/index.js';
import type { OperatorHandle } from '../src/operator/index.js';
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
import { eventually, testNamespace } from './support.js';

const kc = admin();
const core = kc.makeApiClient(CoreV1Api);
const apps = kc.makeApiClient(AppsV1Api);
const id = shortId();
const name = `rollout-${id}`;
const REV = 'sidecar.dev/revision';
let operator: OperatorHandle;

cleanupWebhooksAfterAll(kc, () => [name]);

beforeAll(async () => {
  const opNs = await testNamespace('rollout-op');
  operator = await startTestOperator(opNs, id, { leaderElect: false, rolloutRestart: true });
});

afterAll(async () => {
  try {
    await deletePolicies(kc, [name]);
  } finally {
    await operator?.stop();
  }
});

/**
 * Recreate Deployments: with no kubelet no pod ever becomes available, so a RollingUpdate would keep
 * its old pod forever; Recreate deletes it first (an unscheduled pod goes at once) and then creates
 * the new one, which is what a finished rollout looks like here.
 */
const deployment = (app: string): V1Deployment => ({
  metadata: { name: app },
  spec: {
    replicas: 1,
    strategy: { type: 'Recreate' },
    selector: { matchLabels: { app } },
    template: podSpec(app, { app }),
  },
});

describe('rollout strategy Restart', () => {
  it('restarts the owners of stale pods one wave at a time and the new pods get the new revision', async () => {
    const ns = await testNamespace('rollout');
    await createPolicy(kc, name, id, {
      selector: { namespaces: [ns] },
      injection: { failurePolicy: 'Fail' },
    });
    const revA = (await waitReady(kc, name)).status!.revision!;
    const apps3 = ['web-a', 'web-b', 'web-c'];
    await createInjectedPod(kc, ns, podSpec('bare'));
    for (const app of apps3) await apps.createNamespacedDeployment({ namespace: ns, body: deployment(app) });
    const pods = async (): Promise<V1Pod[]> => (await core.listNamespacedPod({ namespace: ns })).items;
    await eventually(
      async () =>
        (await pods()).filter((p) => p.metadata?.labels?.[REV] === revA).length === 4 ? true : undefined,
      { what: 'three Deployment pods and a bare pod injected at revision A', timeoutMs: 60_000 },
    );

    // A new revision and strategy Restart in one edit.
    await requestJson<SidecarPolicy>(kc, {
      method: 'PATCH',
      path: policyPath(name),
      body: {
        spec: {
          interception: { excludeOutboundPorts: ['3306'] },
          rollout: { strategy: 'Restart', maxUnavailable: 1 },
        },
      },
      contentType: 'application/merge-patch+json',
    });

    // Watch the waves: a Deployment rolls from its restart until it has no revision-A pod and a
    // revision-B pod; never more than one at a time.
    let revB = '';
    let maxRolling = 0;
    const done = await eventually(
      async () => {
        const p = await getPolicy(kc, name);
        if (p?.status?.revision && p.status.revision !== revA) revB = p.status.revision;
        if (!revB) return undefined;
        const all = await pods();
        let rolling = 0;
        let finished = 0;
        for (const app of apps3) {
          const d = await apps.readNamespacedDeployment({ namespace: ns, name: app });
          if (d.spec?.template.metadata?.annotations?.['sidecar.dev/restartedFor'] !== revB) continue;
          const mine = all.filter((x) => x.metadata?.labels?.app === app);
          const old = mine.some((x) => x.metadata?.labels?.[REV] !== revB);
          const fresh = mine.some((x) => x.metadata?.labels?.[REV] === revB);
          if (old || !fresh) rolling++;
          else finished++;
        }
        maxRolling = Math.max(maxRolling, rolling);
        return finished === 3 ? all : undefined;
      },
      { what: 'three Deployments restarted and running revision B', timeoutMs: 90_000, intervalMs: 50 },
    );
    expect(maxRolling).toBe(1);
    for (const app of apps3) {
      const mine = done.filter((x) => x.metadata?.labels?.app === app);
      expect(
        mine.map((x) => x.metadata?.labels?.[REV]),
        app,
      ).toEqual([revB]);
      expect(mine[0]?.metadata?.annotations?.['sidecar.dev/restartedAt'], app).toBeDefined();
    }
    // Waves in key order, each after the one before.
    const times = await Promise.all(
      apps3.map(async (app) => {
        const d = await apps.readNamespacedDeployment({ namespace: ns, name: app });
        return Date.parse(d.spec?.template.metadata?.annotations?.['sidecar.dev/restartedAt'] ?? '');
      }),
    );
    expect(times[0]!).toBeLessThan(times[1]!);
    expect(times[1]!).toBeLessThan(times[2]!);
    // The bare pod is reported, not restarted.
    expect(done.find((x) => x.metadata?.name === 'bare')?.metadata?.labels?.[REV]).toBe(revA);

    const final = await eventually(
      async () => {
        const p = await getPolicy(kc, name);
        return p?.status?.restartingWorkloads?.length === 0 && p.status.outdatedPods === 1 ? p : undefined;
      },
      { what: 'rollout finished in status' },
    );
    expect(final.status).toMatchObject({
      rolloutRevision: revB,
      pendingWorkloads: 0,
      notRestartedOwners: [`Pod/${ns}/bare`],
      injectedPods: 4,
    });
    expect(condition(final, 'RolloutComplete')).toMatchObject({ status: 'False', reason: 'NotRestartable' });
    expect(condition(final, 'RolloutComplete')?.message).toContain(`Pod/${ns}/bare`);
    expect(condition(final, 'Ready')?.status).toBe('True');

    const reasons = await eventually(
      async () => {
        const events = await core.listNamespacedEvent({
          namespace: 'default',
          fieldSelector: `involvedObject.name=${name}`,
        });
        const r = events.items.map((e) => `${e.reason}:${e.message}`);
        return r.some((x) => x.startsWith('RolloutComplete')) ? r : undefined;
      },
      { what: 'RolloutComplete event' },
    );
    expect(reasons.filter((r) => r.startsWith('RolloutStarted'))).toHaveLength(1);
    expect(reasons.filter((r) => r.startsWith('WorkloadRestarted')).sort()).toEqual(
      apps3.map((app) => `WorkloadRestarted:restarted Deployment/${ns}/${app} for revision ${revB}`),
    );

    // Deleting the bare pod leaves nothing stale: the condition turns True.
    await core.deleteNamespacedPod({ namespace: ns, name: 'bare', gracePeriodSeconds: 0 });
    const clean = await eventually(
      async () => {
        const p = await getPolicy(kc, name);
        return condition(p, 'RolloutComplete')?.status === 'True' ? p : undefined;
      },
      { what: 'RolloutComplete=True' },
    );
    expect(clean.status).toMatchObject({ outdatedPods: 0, notRestartedOwners: [] });
    for (const app of apps3) await apps.deleteNamespacedDeployment({ namespace: ns, name: app });
  });
});
