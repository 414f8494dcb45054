import { CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FINALIZER, POLICY_LABEL, REVISION_ANNOTATION } from '../src/api/index.js';
import { requestJson } from '../src/kube/index.js';
import type { OperatorHandle } from '../src/operator/index.js';
import {
  admin,
  cleanupWebhooksAfterAll,
  condition,
  createInjectedPod,
  createPolicy,
  deletePolicies,
  dropPoliciesAfterAll,
  getPolicy,
  injected,
  podSpec,
  shortId,
  startTestOperator,
  waitReady,
} from './controller-support.js';
import { eventually, testNamespace, userKubeConfig } from './support.js';

/**
 * Deletion never sticks: policies with the longest names the API accepts (63 characters, the longest
 * namespace label value) govern namespaces, inject pods, and are deleted cleanly, their finalizer
 * removed and their namespaces unmarked.
 */
const kc = admin();
const core = kc.makeApiClient(CoreV1Api);
const id = shortId();
const policies: string[] = [];

/** A 63-character policy name, unique to this file's run. */
function longestName(tag: string): string {
  const head = `long-${id}-${tag}-`;
  const name = `${head}${'x'.repeat(63 - head.length - 1)}z`;
  policies.push(name);
  return name;
}

cleanupWebhooksAfterAll(kc, () => policies);
dropPoliciesAfterAll(kc, () => policies);

describe('policies with the longest names', () => {
  let operator: OperatorHandle;
  const names: string[] = [];
  const namespaces: string[] = [];

  beforeAll(async () => {
    const opNs = await testNamespace('long-op');
    operator = await startTestOperator(opNs, id, { leaderElect: false });
    for (const tag of ['a', 'b', 'c']) {
      names.push(longestName(tag));
      namespaces.push(await testNamespace(`long-${tag}`));
    }
  });

  afterAll(async () => operator?.stop());

  it('are accepted at 63 characters, govern their namespaces and inject pods', async () => {
    for (const n of names) expect(n).toHaveLength(63);
    await Promise.all(
      names.map((n, i) => createPolicy(kc, n, id, { selector: { namespaces: [namespaces[i]!] } })),
    );
    for (const n of names) {
      const p = await waitReady(kc, n);
      expect(p.metadata?.finalizers).toContain(FINALIZER);
      expect(condition(p, 'NamespacesSynced')?.status).toBe('True');
    }
    for (const [i, ns] of namespaces.entries()) {
      const n = await core.readNamespace({ name: ns });
      expect(n.metadata?.labels?.[POLICY_LABEL]).toBe(names[i]);
      expect(n.metadata?.annotations?.[REVISION_ANNOTATION]).toBeDefined();
    }
    const pod = await createInjectedPod(kc, namespaces[0]!, podSpec('app'));
    expect(injected(pod)).toBe(true);
  });

  it('are deleted cleanly: finalizer removed, webhook configuration gone, namespaces unmarked', async () => {
    await deletePolicies(kc, names);
    expect(await Promise.all(names.map((n) => getPolicy(kc, n)))).toEqual(names.map(() => undefined));
    for (const n of names) {
      const mwc = await requestJson(kc, {
        path: `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${n}`,
      }).catch((err: unknown) => err);
      expect(mwc, n).toMatchObject({ code: 404 });
    }
    await eventually(
      async () => {
        const marked = await Promise.all(
          namespaces.map(async (ns) => {
            const n = await core.readNamespace({ name: ns });
            return n.metadata?.labels?.[POLICY_LABEL] ?? n.metadata?.annotations?.[REVISION_ANNOTATION];
          }),
        );
        return marked.every((m) => m === undefined) ? true : undefined;
      },
      { what: 'namespaces unmarked' },
    );
  });

  it('refuse a 64th character, so no policy can hold a name no namespace label can carry', async () => {
    const name = `${longestName('d')}x`;
    const err = await createPolicy(kc, name, id, { selector: { namespaces: [namespaces[0]!] } }).then(
      () => undefined,
      (e: unknown) => e as { code?: number; message?: string },
    );
    expect(err, 'the API server accepted it').toMatchObject({ code: 422 });
    expect(await getPolicy(kc, name)).toBeUndefined();
  });
});

/** A 63-character namespace name (testNamespace adds `-` and 6 hex digits). */
const longestNamespace = (tag: string): Promise<string> => {
  const head = `long-${id}-${tag}-`;
  return testNamespace(`${head}${'n'.repeat(56 - head.length)}`);
};

/** Everything the chart's ClusterRole grants the controller except writing namespaces. */
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
    verbs: ['get', 'list', 'watch', 'create', 'update', 'patch'],
  },
];
const namespaceRules = [{ apiGroups: [''], resources: ['namespaces'], verbs: ['patch', 'update'] }];

describe('deleting a policy whose cleanup cannot write', () => {
  const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
  const user = `long-${id}-limited`;
  const roles = [`${user}-base`, `${user}-namespaces`];
  const CLEANUP_TIMEOUT_MS = 8_000;
  const HOLD = 'test.sidecar.dev/hold';
  let operator: OperatorHandle | undefined;
  let held: string | undefined;

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

  const setNamespaceFinalizers = (name: string, finalizers: string[] | null) =>
    requestJson(kc, {
      method: 'PATCH',
      path: `/api/v1/namespaces/${name}`,
      body: { metadata: { finalizers } },
      contentType: 'application/merge-patch+json',
    });

  beforeAll(async () => {
    await grant(roles[0]!, baseRules);
    await grant(roles[1]!, namespaceRules);
    const opNs = await testNamespace('long-rbac-op');
    operator = await startTestOperator(opNs, id, {
      leaderElect: false,
      kc: await userKubeConfig(user),
      cleanupTimeoutMs: CLEANUP_TIMEOUT_MS,
    });
  });

  afterAll(async () => {
    await operator?.stop();
    if (held) await setNamespaceFinalizers(held, null).catch(() => undefined);
    for (const name of roles) {
      await rbac.deleteClusterRoleBinding({ name }).catch(() => undefined);
      await rbac.deleteClusterRole({ name }).catch(() => undefined);
    }
  });

  /** The policy's Events with this reason (cluster-scoped objects have theirs in `default`). */
  async function events(name: string, uid: string, reason: string): Promise<string[]> {
    const list = await core.listNamespacedEvent({
      namespace: 'default',
      fieldSelector: `involvedObject.name=${name},reason=${reason}`,
    });
    return list.items.filter((e) => e.involvedObject.uid === uid).map((e) => e.message ?? '');
  }

  it('retries and reports, then lets go after the cleanup timeout, naming what it left', async () => {
    const name = longestName('r');
    const forbidden = await longestNamespace('f');
    const terminating = await longestNamespace('t');
    expect([name, forbidden, terminating].map((n) => n.length)).toEqual([63, 63, 63]);
    await createPolicy(kc, name, id, { selector: { namespaces: [forbidden, terminating] } });
    const ready = await waitReady(kc, name);
    const uid = ready.metadata?.uid ?? '';
    for (const ns of [forbidden, terminating])
      expect((await core.readNamespace({ name: ns })).metadata?.labels?.[POLICY_LABEL]).toBe(name);

    // One namespace is being deleted (a finalizer of someone else's holds it in Terminating); the
    // operator loses the right to write namespaces; then the policy is deleted.
    held = terminating;
    await setNamespaceFinalizers(terminating, [HOLD]);
    await core.deleteNamespace({ name: terminating });
    await rbac.deleteClusterRoleBinding({ name: roles[1]! });
    const asked = Date.now();
    await requestJson(kc, { method: 'DELETE', path: `/apis/sidecar.dev/v1alpha1/sidecarpolicies/${name}` });

    // It goes, not before the timeout; while it retries, Ready=False says why.
    const seen: { reason?: string; finalizer?: boolean }[] = [];
    await eventually(
      async () => {
        const p = await getPolicy(kc, name);
        if (!p) return true;
        seen.push({
          reason: condition(p, 'Ready')?.reason,
          finalizer: p.metadata?.finalizers?.includes(FINALIZER),
        });
        return undefined;
      },
      { what: 'the policy gone', timeoutMs: CLEANUP_TIMEOUT_MS + 30_000 },
    );
    expect(seen.some((x) => x.reason === 'CleanupFailed' && x.finalizer)).toBe(true);
    // The deletion timestamp has a one-second resolution.
    expect(Date.now() - asked).toBeGreaterThanOrEqual(CLEANUP_TIMEOUT_MS - 1000);
    // Reported: a Warning Event while it retried (the forbidden namespace, not the Terminating one).
    const failed = await events(name, uid, 'CleanupFailed');
    expect(failed.length).toBeGreaterThan(0);
    expect(failed[0]).toContain(forbidden);
    expect(failed[0]).toMatch(/forbidden|403/i);
    expect(failed[0]).not.toContain(terminating);
    const abandoned = await eventually(
      async () => {
        const m = await events(name, uid, 'CleanupAbandoned');
        return m.length > 0 ? m : undefined;
      },
      { what: 'a CleanupAbandoned Event' },
    );
    expect(abandoned[0]).toContain(forbidden);
    const mwc = await requestJson(kc, {
      path: `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${name}`,
    }).catch((err: unknown) => err);
    expect(mwc).toMatchObject({ code: 404 });
    // What it could not undo is still there, as the Event says.
    expect((await core.readNamespace({ name: forbidden })).metadata?.labels?.[POLICY_LABEL]).toBe(name);
  });
});
