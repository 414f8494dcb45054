import { CoreV1Api, type V1ConfigMap, type V1Namespace } from '@kubernetes/client-node';
import { pino, type Logger } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FINALIZER, policyPath, type SidecarPolicy } from '../src/api/index.js';
import { PodIndex } from '../src/controllers/pod-index.js';
import { createPolicyReconciler } from '../src/controllers/policy/assemble.js';
import type { PolicyReconciler } from '../src/controllers/policy/reconciler.js';
import { createEventRecorder, jsonPatch, requestJson, type Cache } from '../src/kube/index.js';
import type { OperatorHandle } from '../src/operator/index.js';
import { INJECTOR_TEMPLATE_SELECTOR } from '../src/render/injector-configmap.js';
import {
  admin,
  cleanupWebhooksAfterAll,
  createPolicy,
  deletePolicies,
  dropPoliciesAfterAll,
  getPolicy,
  metric,
  shortId,
  startTestOperator,
  TEST_INIT_IMAGE,
  waitReady,
} from './controller-support.js';
import { eventually, testNamespace } from './support.js';

const kc = admin();
const core = kc.makeApiClient(CoreV1Api);
const id = shortId();
const policies: string[] = [];
const policyName = (suffix: string): string => {
  const n = `del-${id}-${suffix}`;
  policies.push(n);
  return n;
};

cleanupWebhooksAfterAll(kc, () => policies);
dropPoliciesAfterAll(kc, () => policies);

/** A logger whose JSON lines the test reads. */
function capturedLogger(): { log: Logger; lines: () => Record<string, unknown>[] } {
  const out: string[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void out.push(line) });
  return { log, lines: () => out.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('deleting policies with the operator running', () => {
  const logs = capturedLogger();
  let operator: OperatorHandle;
  let opNs: string;
  const names: string[] = [];
  const namespaces: string[] = [];

  beforeAll(async () => {
    opNs = await testNamespace('del-op');
    operator = await startTestOperator(opNs, id, { leaderElect: false, log: logs.log });
    for (let i = 0; i < 6; i++) {
      namespaces.push(await testNamespace(`del-${i}`));
      names.push(policyName(`p${i}`));
    }
    await Promise.all(
      names.map((n, i) => createPolicy(kc, n, id, { selector: { namespaces: [namespaces[i]!] } })),
    );
    await Promise.all(names.map((n) => waitReady(kc, n)));
  });

  afterAll(async () => operator?.stop());

  it('cleans up each policy once: finalizer removed, nothing left, no reconcile retried because it is gone', async () => {
    // Everything settled before the deletion: what follows is the deletion's doing.
    await operator.resync();
    const errors = metric(operator, 'controller_runtime_reconcile_errors_total');
    const retries = metric(operator, 'workqueue_retries_total');
    const [errors0, retries0] = [await errors(), await retries()];
    const logged = logs.lines().length;

    await deletePolicies(kc, names);
    // Let anything the deletion queued run (retries included: base delay 50 ms), then resync.
    await new Promise((r) => setTimeout(r, 1500));
    await operator.resync();

    expect(await Promise.all(names.map((n) => getPolicy(kc, n)))).toEqual(names.map(() => undefined));
    for (const n of names) {
      const mwc = await requestJson(kc, {
        path: `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${n}`,
      }).catch((err: unknown) => err);
      expect(mwc, n).toMatchObject({ code: 404 });
    }
    const cms = await core.listNamespacedConfigMap({
      namespace: opNs,
      labelSelector: INJECTOR_TEMPLATE_SELECTOR,
    });
    expect(cms.items.map((c) => c.metadata?.name)).toEqual([]);
    for (const ns of namespaces) {
      const n = await core.readNamespace({ name: ns });
      expect(n.metadata?.labels?.['sidecar.dev/policy'], ns).toBeUndefined();
      expect(n.metadata?.annotations?.['sidecar.dev/revision'], ns).toBeUndefined();
    }

    const after = logs.lines().slice(logged);
    const failed = after.filter(
      (l) => l.msg === 'reconcile failed, retrying' || l.msg === 'conflict, requeued',
    );
    expect(failed, JSON.stringify(failed, null, 1)).toEqual([]);
    expect(
      after
        .filter((l) => l.msg === 'policy cleaned up')
        .map((l) => l.policy)
        .sort(),
    ).toEqual([...names].sort());
    expect(await errors()).toBe(errors0);
    expect(await retries()).toBe(retries0);
  });

  it('goes at once when what it would undo is already gone or going: webhook configuration, namespace', async () => {
    const name = policyName('gone');
    const held = await testNamespace('del-held');
    await createPolicy(kc, name, id, { selector: { namespaces: [held] } });
    await waitReady(kc, name);
    // Someone deleted the webhook configuration; the namespace is being deleted (a finalizer of
    // someone else's holds it in Terminating).
    await requestJson(kc, {
      method: 'DELETE',
      path: `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${name}`,
    });
    const hold = (finalizers: string[] | null) =>
      requestJson(kc, {
        method: 'PATCH',
        path: `/api/v1/namespaces/${held}`,
        body: { metadata: { finalizers } },
        contentType: 'application/merge-patch+json',
      });
    await hold(['test.sidecar.dev/hold']);
    try {
      await core.deleteNamespace({ name: held });
      const t0 = Date.now();
      await deletePolicies(kc, [name], 15_000);
      console.log(
        `deleted with its webhook configuration gone and its namespace Terminating: ${Date.now() - t0} ms`,
      );
      // Nothing to retry: gone is done, and a namespace on its way out needs no unmarking.
      const failed = logs.lines().filter((l) => l.policy === name && l.msg === 'reconcile failed, retrying');
      expect(failed).toEqual([]);
    } finally {
      await hold(null).catch(() => undefined);
    }
  });
});

/** A cache frozen at one moment: what a reconcile sees when the watch has not delivered yet. */
function snapshot<T extends { metadata?: { name?: string; namespace?: string } }>(items: T[]): Cache<T> {
  return {
    list: () => items,
    get: (name, namespace) =>
      items.find(
        (o) => o.metadata?.name === name && (namespace === undefined || o.metadata.namespace === namespace),
      ),
  };
}

describe('a reconcile whose cache has not seen the deletion yet', () => {
  let opNs: string;
  const silent = pino({ level: 'silent' });

  beforeAll(async () => {
    opNs = await testNamespace('del-stale');
  });

  function reconcilerSeeing(policy: SidecarPolicy): PolicyReconciler {
    return createPolicyReconciler({
      kc,
      log: silent,
      caches: {
        policies: snapshot([policy]),
        namespaces: snapshot<V1Namespace>([]),
        configMap: snapshot<V1ConfigMap>([]),
        legacyConfigMap: snapshot<V1ConfigMap>([]),
        webhooks: snapshot([]),
      },
      pods: new PodIndex(kc, silent),
      operatorNamespace: opNs,
      target: { url: 'https://127.0.0.1:1' },
      compile: { nativeSidecars: true, sleepAction: true, initImage: TEST_INIT_IMAGE },
      certificate: () => undefined,
      events: createEventRecorder(kc, silent, { component: 'test', instance: id, clock: () => new Date() }),
      sharded: true,
      clock: () => new Date(),
    });
  }

  /** A policy as a cache last saw it, then gone from the API server. */
  async function vanished(
    suffix: string,
    opts: { finalizer: boolean; deleting: boolean },
  ): Promise<SidecarPolicy> {
    const name = policyName(suffix);
    let seen = await createPolicy(kc, name, id, { selector: { namespaces: ['none'] } });
    if (opts.finalizer)
      seen = await jsonPatch<SidecarPolicy>(kc, policyPath(name), [
        { op: 'add', path: '/metadata/finalizers', value: [FINALIZER] },
      ]);
    if (opts.deleting) {
      await requestJson(kc, { method: 'DELETE', path: policyPath(name) });
      seen = (await getPolicy(kc, name))!;
      expect(seen.metadata?.deletionTimestamp).toBeDefined();
    }
    await jsonPatch(kc, policyPath(name), [{ op: 'remove', path: '/metadata/finalizers' }]).catch(
      () => undefined,
    );
    await requestJson(kc, { method: 'DELETE', path: policyPath(name) }).catch(() => undefined);
    await eventually(async () => ((await getPolicy(kc, name)) === undefined ? true : undefined), {
      what: `${name} gone`,
    });
    return seen;
  }

  it('finalizing: the finalizer removal finds the policy gone, and the reconcile succeeds', async () => {
    const seen = await vanished('fin', { finalizer: true, deleting: true });
    await expect(reconcilerSeeing(seen).reconcile(seen.metadata!.name!)).resolves.toEqual({});
  });

  it('converging: the status write finds the policy gone, and the reconcile succeeds', async () => {
    const seen = await vanished('status', { finalizer: true, deleting: false });
    await expect(reconcilerSeeing(seen).reconcile(seen.metadata!.name!)).resolves.toEqual({});
  });

  it('adding the finalizer finds the policy gone, and the reconcile succeeds', async () => {
    const seen = await vanished('add', { finalizer: false, deleting: false });
    await expect(reconcilerSeeing(seen).reconcile(seen.metadata!.name!)).resolves.toEqual({});
  });
});
