import { CoreV1Api } from '@kubernetes/client-node';
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
import { eventually, testNamespace } from './support.js';

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
