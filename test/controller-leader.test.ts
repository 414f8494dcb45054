import { randomUUID } from 'node:crypto';
import { CoreV1Api } from '@kubernetes/client-node';
import { Agent, fetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { policyPath } from '../src/api/index.js';
import { parseServingMaterial } from '../src/certs/index.js';
import { requestJson } from '../src/kube/index.js';
import type { OperatorHandle } from '../src/operator/index.js';
import {
  admin,
  cleanupWebhooksAfterAll,
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
const id = shortId();
const policy = `ctl-${id}-lead`;
const LEASE_MS = 15_000;
let opNs: string;
let ns: string;
const operators: OperatorHandle[] = [];

cleanupWebhooksAfterAll(kc, () => [policy]);

beforeAll(async () => {
  opNs = await testNamespace('ctl-lead-op');
  ns = await testNamespace('ctl-lead');
  for (const identity of ['one', 'two']) {
    operators.push(await startTestOperator(opNs, id, { identity, leaseDurationMs: LEASE_MS }));
  }
});

afterAll(async () => {
  try {
    await deletePolicies(kc, [policy]);
  } finally {
    await Promise.all(operators.map((o) => o.stop()));
  }
});

async function reconciles(o: OperatorHandle): Promise<number> {
  const m = await o.registry.getSingleMetric('controller_runtime_reconcile_total')?.get();
  return (m?.values ?? []).reduce((s, v) => s + v.value, 0);
}

async function leaderGauge(o: OperatorHandle): Promise<number> {
  const m = await o.registry.getSingleMetric('leader_election_master_status')?.get();
  return m?.values[0]?.value ?? -1;
}

/** An AdmissionReview for a pod CREATE, sent straight to one replica's webhook port. */
async function review(o: OperatorHandle, ca: string) {
  const res = await fetch(`https://127.0.0.1:${o.webhookPort}/inject/${policy}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid: randomUUID(),
        kind: { group: '', version: 'v1', kind: 'Pod' },
        resource: { group: '', version: 'v1', resource: 'pods' },
        operation: 'CREATE',
        namespace: ns,
        object: podSpec('direct'),
      },
    }),
    dispatcher: new Agent({ connect: { ca } }),
  });
  return (await res.json()) as { response: { allowed: boolean; patch?: string } };
}

describe('two operator instances', () => {
  it('exactly one reconciles, both serve the webhook, and stopping the leader hands over', async () => {
    const leader = await eventually(() => operators.find((o) => o.isLeader()), { what: 'a leader' });
    const follower = operators.find((o) => o !== leader)!;
    await createPolicy(kc, policy, id, { selector: { namespaces: [ns] } });
    await waitReady(kc, policy);
    expect(operators.filter((o) => o.isLeader())).toHaveLength(1);
    expect(await reconciles(leader)).toBeGreaterThan(0);
    expect(await reconciles(follower)).toBe(0);
    expect(await leaderGauge(leader)).toBe(1);
    expect(await leaderGauge(follower)).toBe(0);
    const lease = await requestJson<{ spec: { holderIdentity: string } }>(kc, {
      path: `/apis/coordination.k8s.io/v1/namespaces/${opNs}/leases/sidecar-operator-leader`,
    });
    expect(lease.spec.holderIdentity).toBe(leader.identity);

    const ca = parseServingMaterial(
      await core.readNamespacedSecret({ name: 'sidecar-operator-certs', namespace: opNs }),
    ).bundlePem;
    for (const o of operators) {
      const answer = await eventually(
        async () => {
          const r = await review(o, ca);
          return r.response.patch ? r : undefined;
        },
        { what: `${o.identity} injects` },
      );
      expect(answer.response.allowed).toBe(true);
    }

    const t0 = Date.now();
    await leader.stop();
    operators.splice(operators.indexOf(leader), 1);
    await eventually(() => (follower.isLeader() ? true : undefined), {
      what: 'handover',
      timeoutMs: LEASE_MS + 5000,
      intervalMs: 20,
    });
    const handoverMs = Date.now() - t0;
    console.log(`leader handover after graceful stop: ${handoverMs} ms (lease ${LEASE_MS} ms)`);
    expect(handoverMs).toBeLessThan(LEASE_MS);

    // The new leader reconciles: a spec change reaches the status.
    const before = (await getPolicy(kc, policy))!.status!.revision;
    await requestJson(kc, {
      method: 'PATCH',
      path: policyPath(policy),
      body: { spec: { proxy: { args: ['--concurrency=2'] } } },
      contentType: 'application/merge-patch+json',
    });
    const after = await waitReady(kc, policy);
    expect(after.status?.revision).not.toBe(before);
    // The reconcile that wrote this status is counted when it returns, a moment after the write.
    await eventually(async () => ((await reconciles(follower)) > 0 ? true : undefined), {
      what: 'the new leader to count its reconcile',
      timeoutMs: 5_000,
    });
  });
});
