import { AppsV1Api, CoreV1Api, type V1Deployment } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { policyPath, type SidecarPolicy } from '../src/api/index.js';
import { RESTART_NOT_PERMITTED } from '../src/controllers/rollout/rollout.js';
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
const name = `rollout-denied-${id}`;
let operator: OperatorHandle;

cleanupWebhooksAfterAll(kc, () => [name]);

beforeAll(async () => {
  const opNs = await testNamespace('rollout-denied-op');
  // The default: the operator may not restart workloads (the chart grants no patch on them).
  operator = await startTestOperator(opNs, id, { leaderElect: false });
});

afterAll(async () => {
  try {
    await deletePolicies(kc, [name]);
  } finally {
    await operator?.stop();
  }
});

describe('rollout strategy Restart without the permission to restart', () => {
  it('restarts nothing, and the policy says why in its Rollout condition and one Warning Event', async () => {
    const ns = await testNamespace('rollout-denied');
    await createPolicy(kc, name, id, { selector: { namespaces: [ns] } });
    const revA = (await waitReady(kc, name)).status!.revision!;
    const app = 'web';
    const deployment: V1Deployment = {
      metadata: { name: app },
      spec: {
        replicas: 1,
        strategy: { type: 'Recreate' },
        selector: { matchLabels: { app } },
        template: podSpec(app, { app }),
      },
    };
    await createInjectedPod(kc, ns, podSpec('bare'));
    await apps.createNamespacedDeployment({ namespace: ns, body: deployment });
    await eventually(
      async () => {
        const pods = (await core.listNamespacedPod({ namespace: ns })).items;
        return pods.filter((p) => p.metadata?.labels?.['sidecar.dev/revision'] === revA).length === 2
          ? true
          : undefined;
      },
      { what: 'a Deployment pod and a bare pod injected at revision A', timeoutMs: 60_000 },
    );
    await requestJson<SidecarPolicy>(kc, {
      method: 'PATCH',
      path: policyPath(name),
      body: { spec: { interception: { excludeOutboundPorts: ['3306'] }, rollout: { strategy: 'Restart' } } },
      contentType: 'application/merge-patch+json',
    });
    const p = await eventually(
      async () => {
        const x = await getPolicy(kc, name);
        return x?.status?.revision !== revA &&
          x?.status?.outdatedPods === 2 &&
          condition(x, 'RolloutComplete')?.reason === 'RolloutNotPermitted'
          ? x
          : undefined;
      },
      { what: 'RolloutComplete=False, RolloutNotPermitted', timeoutMs: 30_000 },
    );
    expect(condition(p, 'RolloutComplete')).toMatchObject({ status: 'False' });
    expect(condition(p, 'RolloutComplete')?.message).toBe(
      `2 pods run an older revision; ${RESTART_NOT_PERMITTED}`,
    );
    expect(p.status?.restartingWorkloads ?? []).toEqual([]);

    const warnings = await eventually(async () => {
      const list = await core.listNamespacedEvent({
        namespace: 'default',
        fieldSelector: `involvedObject.name=${name},reason=RolloutNotPermitted`,
      });
      const mine = list.items.filter((e) => e.involvedObject.uid === p.metadata?.uid);
      return mine.length > 0 ? mine : undefined;
    });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ type: 'Warning', message: RESTART_NOT_PERMITTED });
    // Several resyncs (every 2 s here) later: still one Event, the Deployment never touched.
    await new Promise((r) => setTimeout(r, 5000));
    const again = await core.listNamespacedEvent({
      namespace: 'default',
      fieldSelector: `involvedObject.name=${name},reason=RolloutNotPermitted`,
    });
    expect(again.items.filter((e) => e.involvedObject.uid === p.metadata?.uid)).toHaveLength(1);
    expect(again.items[0]?.count ?? 1).toBe(1);
    const d = await apps.readNamespacedDeployment({ namespace: ns, name: app });
    expect(d.spec?.template.metadata?.annotations?.['sidecar.dev/restartedFor']).toBeUndefined();
  });
});
