import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FINALIZER,
  POLICY_LABEL,
  policyPath,
  REVISION_ANNOTATION,
  type SidecarPolicy,
} from '../src/api/index.js';
import { jsonPatch, requestJson } from '../src/kube/index.js';
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

const CRD_PATH = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/sidecarpolicies.sidecar.dev';
const ROOT_RULES = '/spec/versions/0/schema/openAPIV3Schema/x-kubernetes-validations';

/** Whether the API server (dry run) would store a policy with a name over 63 characters now. */
async function acceptsLongNames(): Promise<boolean> {
  const probe = { selector: { namespaces: ['default'] } };
  const name = `probe-${'x'.repeat(70)}`;
  return requestJson(kc, {
    method: 'POST',
    path: policyPath(),
    query: { dryRun: 'All' },
    body: { apiVersion: 'sidecar.dev/v1alpha1', kind: 'SidecarPolicy', metadata: { name }, spec: probe },
  }).then(
    () => true,
    () => false,
  );
}

/**
 * Stores a policy as a CRD without the name rule did (an upgrade keeps such objects): the rule is
 * taken out for as long as one create takes, then put back, and the rest runs under it.
 */
async function createStoredBeforeTheRule(name: string, spec: SidecarPolicy['spec']): Promise<void> {
  const crd = await requestJson<{
    metadata: { resourceVersion: string };
    spec: { versions: { schema: { openAPIV3Schema: Record<string, unknown> } }[] };
  }>(kc, { path: CRD_PATH });
  const rules = crd.spec.versions[0]!.schema.openAPIV3Schema['x-kubernetes-validations'];
  expect(rules).toBeDefined();
  await jsonPatch(kc, CRD_PATH, [
    { op: 'test', path: '/metadata/resourceVersion', value: crd.metadata.resourceVersion },
    { op: 'remove', path: ROOT_RULES },
  ]);
  try {
    await eventually(async () => ((await acceptsLongNames()) ? true : undefined), {
      what: 'the CRD without the name rule in effect',
    });
    await createPolicy(kc, name, id, spec);
  } finally {
    await jsonPatch(kc, CRD_PATH, [{ op: 'add', path: ROOT_RULES, value: rules }]);
    await eventually(async () => ((await acceptsLongNames()) ? undefined : true), {
      what: 'the CRD with the name rule in effect again',
    });
  }
}

describe('a policy stored with a name over 63 characters, before the rule refused it', () => {
  let operator: OperatorHandle;
  let tooLong: string;
  let neighbour: string;
  const namespaces: string[] = [];

  beforeAll(async () => {
    const opNs = await testNamespace('long-old-op');
    operator = await startTestOperator(opNs, id, { leaderElect: false });
    namespaces.push(await testNamespace('long-old-a'), await testNamespace('long-old-b'));
    tooLong = `${longestName('old')}-and-more-than-a-label-value-can-hold`;
    policies.push(tooLong);
    neighbour = longestName('nbr');
  });

  afterAll(async () => operator?.stop());

  it('governs nothing and is not Ready, naming the name; a neighbour keeps its namespace', async () => {
    await createPolicy(kc, neighbour, id, { selector: { namespaces: [namespaces[1]!] } });
    await waitReady(kc, neighbour);
    // Higher priority, selecting the neighbour's namespace too: it would win it, and then fail to mark it.
    await createStoredBeforeTheRule(tooLong, {
      priority: 10,
      selector: { namespaces: [namespaces[0]!, namespaces[1]!] },
    });
    const broken = await waitReady(kc, tooLong, 'False');
    expect(condition(broken, 'TemplateRendered')?.message).toContain('metadata.name');
    expect(broken.status?.namespaces).toBe(0);
    // Settled (a resync later), the neighbour still governs its namespace.
    await operator.resync();
    const kept = await waitReady(kc, neighbour);
    expect(condition(kept, 'Conflict')?.status).not.toBe('True');
    expect(kept.status?.governedNamespaces).toEqual([namespaces[1]]);
    const marked = await core.readNamespace({ name: namespaces[1]! });
    expect(marked.metadata?.labels?.[POLICY_LABEL]).toBe(neighbour);
    expect(
      (await core.readNamespace({ name: namespaces[0]! })).metadata?.labels?.[POLICY_LABEL],
    ).toBeUndefined();
  });

  it('is deleted cleanly beside its neighbour: finalizers removed, nothing left marked', async () => {
    // The neighbour first: its namespace must not be left marked for it, nor its deletion stuck.
    await deletePolicies(kc, [neighbour], 15_000);
    await deletePolicies(kc, [tooLong], 15_000);
    for (const n of [tooLong, neighbour]) {
      const mwc = await requestJson(kc, {
        path: `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${n}`,
      }).catch((err: unknown) => err);
      expect(mwc, n).toMatchObject({ code: 404 });
    }
    await eventually(
      async () => {
        const marked = await Promise.all(
          namespaces.map(
            async (ns) => (await core.readNamespace({ name: ns })).metadata?.labels?.[POLICY_LABEL],
          ),
        );
        return marked.every((m) => m === undefined) ? true : undefined;
      },
      { what: 'namespaces unmarked' },
    );
  });
});
