import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { policyPath, type SidecarPolicy } from '../src/api/index.js';
import { Informer } from '../src/kube/informer.js';
import type { OperatorHandle } from '../src/operator/index.js';
import type { PodMeta } from '../src/status/index.js';
import {
  admin,
  cleanupWebhooksAfterAll,
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
const id = shortId();
const policies: string[] = [];
let operator: OperatorHandle;

cleanupWebhooksAfterAll(kc, () => policies);

beforeAll(async () => {
  const opNs = await testNamespace('pods-op');
  // No periodic resync within the test: counts can only move through the pod watch.
  operator = await startTestOperator(opNs, id, { leaderElect: false, resyncPeriodMs: 3_600_000 });
});

afterAll(async () => {
  try {
    await deletePolicies(kc, policies);
  } finally {
    await operator?.stop();
  }
});

describe('metadata-only pod informer', () => {
  it('lists and watches PartialObjectMetadata: labels and owners, no spec', async () => {
    const ns = await testNamespace('pods-meta');
    const informer = new Informer<PodMeta>(kc, { path: `/api/v1/namespaces/${ns}/pods`, metadataOnly: true });
    await core.createNamespacedPod({ namespace: ns, body: podSpec('listed', { app: 'a' }) });
    informer.start();
    try {
      await informer.synced;
      await core.createNamespacedPod({ namespace: ns, body: podSpec('watched', { app: 'b' }) });
      const watched = await eventually(() => informer.get('watched', ns), { what: 'watched pod cached' });
      for (const p of [informer.get('listed', ns)!, watched]) {
        expect(p.kind).toBe('PartialObjectMetadata');
        expect(p.metadata?.labels?.app).toMatch(/^[ab]$/);
        expect((p as { spec?: unknown }).spec).toBeUndefined();
      }
    } finally {
      await informer.stop();
    }
  });
});

describe('pod counts follow pods without a resync', () => {
  it('a pod created, relabelled or deleted in a governed namespace moves the counts within seconds', async () => {
    const ns = await testNamespace('pods-live');
    const name = `pods-${id}`;
    policies.push(name);
    await createPolicy(kc, name, id, {
      selector: { namespaces: [ns], podSelector: { matchLabels: { app: 'web' } } },
      injection: { failurePolicy: 'Ignore' },
    });
    const ready = await waitReady(kc, name);
    expect(ready.status).toMatchObject({ injectedPods: 0, uninjectedPods: 0, outdatedPods: 0 });
    const counts = (want: Record<string, number>, what: string) =>
      eventually(
        async () => {
          const s = (await getPolicy(kc, name))?.status;
          return Object.entries(want).every(([k, v]) => (s as Record<string, unknown>)?.[k] === v)
            ? s
            : undefined;
        },
        { what, timeoutMs: 10_000 },
      );

    await createInjectedPod(kc, ns, podSpec('injected', { app: 'web' }));
    let t0 = Date.now();
    await counts({ injectedPods: 1 }, 'injectedPods = 1');
    expect(Date.now() - t0).toBeLessThan(8_000);

    // A pod the webhook did not see (it opted out), then opting back in by label: uninjected.
    await core.createNamespacedPod({
      namespace: ns,
      body: podSpec('missed', { app: 'web', 'sidecar.dev/inject': 'false' }),
    });
    await counts({ injectedPods: 1, uninjectedPods: 0 }, 'opted-out pod not counted');
    t0 = Date.now();
    await core.patchNamespacedPod({
      namespace: ns,
      name: 'missed',
      body: [{ op: 'remove', path: '/metadata/labels/sidecar.dev~1inject' }],
    });
    await counts({ uninjectedPods: 1 }, 'uninjectedPods = 1 after relabel');
    expect(Date.now() - t0).toBeLessThan(8_000);

    t0 = Date.now();
    await core.deleteNamespacedPod({ namespace: ns, name: 'injected', gracePeriodSeconds: 0 });
    await counts({ injectedPods: 0, uninjectedPods: 1 }, 'injectedPods = 0 after delete');
    expect(Date.now() - t0).toBeLessThan(8_000);
  });

  it('ten pods created at once cost one or two status writes, not ten', async () => {
    const ns = await testNamespace('pods-burst');
    const name = `burst-${id}`;
    policies.push(name);
    await createPolicy(kc, name, id, {
      selector: { namespaces: [ns] },
      injection: { failurePolicy: 'Ignore' },
    });
    await waitReady(kc, name);
    await createInjectedPod(kc, ns, podSpec('first'));
    await eventually(
      async () => ((await getPolicy(kc, name))?.status?.injectedPods === 1 ? true : undefined),
      {
        what: 'injectedPods = 1',
      },
    );
    // Every status value the policy takes while the pods arrive.
    const seen: number[] = [];
    const watch = new Informer<SidecarPolicy>(kc, {
      path: policyPath(),
      fieldSelector: `metadata.name=${name}`,
    }).onEvent((e) => {
      const n = e.object.status?.injectedPods;
      if (e.type === 'MODIFIED' && n !== e.old?.status?.injectedPods && n !== undefined) seen.push(n);
    });
    watch.start();
    try {
      await watch.synced;
      await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          core.createNamespacedPod({ namespace: ns, body: podSpec(`p${i}`) }),
        ),
      );
      await eventually(() => (seen.at(-1) === 11 ? true : undefined), { what: 'injectedPods = 11' });
      await new Promise((r) => setTimeout(r, 1500));
      expect(seen.at(-1)).toBe(11);
      expect(seen.length).toBeLessThanOrEqual(2);
    } finally {
      await watch.stop();
    }
  });
});
