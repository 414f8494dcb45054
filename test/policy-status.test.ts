import { execFile } from 'node:child_process';
import { request } from 'node:http';
import { promisify } from 'node:util';
import { CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
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
import { envtest, eventually, testNamespace } from './support.js';

const run = promisify(execFile);
const kc = admin();
const core = kc.makeApiClient(CoreV1Api);
const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
const id = shortId();
const reader = `policy-metrics-reader-${id}`;
const strong = `st-${id}-strong`;
const weak = `st-${id}-weak`;
const mesh = `st-${id}-mesh`;
const LEASE_MS = 15_000;
const operators: OperatorHandle[] = [];
let opNs: string;
let a: string;
let b: string;
let scrapeToken: string;

cleanupWebhooksAfterAll(kc, () => [strong, weak, mesh]);

/** GET /metrics on a replica's metrics port with Prometheus' ServiceAccount token. */
function scrape(o: OperatorHandle): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: o.metricsPort,
        path: '/metrics',
        headers: { authorization: `Bearer ${scrapeToken}` },
      },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () =>
          res.statusCode === 200 ? resolve(body) : reject(new Error(`${res.statusCode}: ${body}`)),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** The `sidecar_policy_*` samples of an exposition, `name{labels}` → value, for our policies only. */
function policySamples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(sidecar_policy_\w+)\{([^}]*)\} (\S+)$/.exec(line);
    if (!m || !m[2]!.includes(`st-${id}-`)) continue;
    out.set(`${m[1]}{${m[2]}}`, Number(m[3]));
  }
  return out;
}

const leader = async (): Promise<OperatorHandle> =>
  eventually(
    async () => {
      for (const o of operators) {
        const g = await o.registry.getSingleMetric('leader_election_master_status')?.get();
        if (g?.values[0]?.value === 1) return o;
      }
      return undefined;
    },
    { what: 'a leader', timeoutMs: 2 * LEASE_MS },
  );

beforeAll(async () => {
  opNs = await testNamespace('st-op');
  a = await testNamespace('st-a');
  b = await testNamespace('st-b');
  for (const identity of ['one', 'two']) {
    operators.push(
      await startTestOperator(opNs, id, {
        identity,
        leaseDurationMs: LEASE_MS,
        metricsPort: 0,
        metricsAuth: 'kubernetes',
      }),
    );
  }
  // Prometheus as the chart sets it up: a ServiceAccount bound to get on /metrics.
  await rbac.createClusterRole({
    body: { metadata: { name: reader }, rules: [{ nonResourceURLs: ['/metrics'], verbs: ['get'] }] },
  });
  await core.createNamespacedServiceAccount({ namespace: opNs, body: { metadata: { name: 'prometheus' } } });
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name: reader },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: reader },
      subjects: [{ kind: 'ServiceAccount', name: 'prometheus', namespace: opNs }],
    },
  });
  const tr = await core.createNamespacedServiceAccountToken({
    namespace: opNs,
    name: 'prometheus',
    body: { spec: { audiences: [], expirationSeconds: 1200 } },
  });
  scrapeToken = tr.status?.token ?? '';
});

afterAll(async () => {
  try {
    await deletePolicies(kc, [strong, weak, mesh]);
  } finally {
    await Promise.all(operators.map((o) => o.stop()));
    await rbac.deleteClusterRoleBinding({ name: reader }).catch(() => undefined);
    await rbac.deleteClusterRole({ name: reader }).catch(() => undefined);
  }
});

interface Table {
  columnDefinitions: { name: string; priority: number }[];
  rows: { cells: unknown[]; object: { metadata: { name: string } } }[];
}

describe('status at a glance', () => {
  it('a policy that loses every namespace is not Ready; counts, conflict and reason are columns', async () => {
    // Pods in b before any policy: uninjected once mesh governs b.
    await core.createNamespacedPod({ namespace: b, body: podSpec('before') });
    await createPolicy(kc, strong, id, { selector: { namespaces: [a] }, priority: 10 });
    await waitReady(kc, strong);
    await createPolicy(kc, mesh, id, { selector: { namespaces: [a, b] } });
    await createPolicy(kc, weak, id, { selector: { namespaces: [a] } });
    const lost = await waitReady(kc, weak, 'False');
    expect(condition(lost, 'Ready')).toMatchObject({ reason: 'NamespaceConflict' });
    await waitReady(kc, mesh);
    await createInjectedPod(kc, b, podSpec('old'));
    // A spec change: the pod injected before now runs an outdated revision; one more at the new one.
    await requestJson(kc, {
      method: 'PATCH',
      path: policyPath(mesh),
      body: { spec: { interception: { excludeOutboundPorts: ['3306'] } } },
      contentType: 'application/merge-patch+json',
    });
    await eventually(
      async () => {
        const p = await waitReady(kc, mesh);
        return p.status?.outdatedPods === 1 ? p : undefined;
      },
      { what: 'one outdated pod' },
    );
    const rev = (await getPolicy(kc, mesh))!.status!.revision;
    await eventually(
      async () => {
        const dry = await requestJson<{ metadata?: { labels?: Record<string, string> } }>(kc, {
          method: 'POST',
          path: `/api/v1/namespaces/${b}/pods`,
          query: { dryRun: 'All' },
          body: podSpec('probe'),
        });
        return dry.metadata?.labels?.['sidecar.dev/revision'] === rev ? true : undefined;
      },
      { what: 'the webhook injects the new revision' },
    );
    await createInjectedPod(kc, b, podSpec('new'));
    await eventually(
      async () => ((await getPolicy(kc, mesh))?.status?.injectedPods === 2 ? true : undefined),
      { what: 'two injected pods' },
    );

    // The table the API server returns: what kubectl prints.
    const table = await requestJson<Table>(kc, {
      path: policyPath(),
      query: { labelSelector: `test.sidecar.dev/shard=${id}` },
      accept: 'application/json;as=Table;v=v1;g=meta.k8s.io',
    });
    const col = (name: string) => table.columnDefinitions.findIndex((c) => c.name === name);
    const wideOnly = table.columnDefinitions.filter((c) => c.priority === 1).map((c) => c.name);
    expect(wideOnly).toEqual(expect.arrayContaining(['Reason', 'Injected', 'Uninjected']));
    expect(table.columnDefinitions.find((c) => c.name === 'Conflict')?.priority).toBe(0);
    const row = (name: string) => table.rows.find((r) => r.object.metadata.name === name)!.cells;
    const pick = (name: string, cols: string[]) => cols.map((c) => row(name)[col(c)]);
    const cols = ['Ready', 'Reason', 'Conflict', 'Namespaces', 'Injected', 'Outdated', 'Uninjected'];
    expect(pick(weak, cols)).toEqual(['False', 'NamespaceConflict', 'True', 0, 0, 0, 0]);
    expect(pick(mesh, cols)).toEqual(['True', 'Reconciled', 'True', 1, 2, 1, 1]);
    expect(pick(strong, cols)).toEqual(['True', 'Reconciled', 'False', 1, 0, 0, 0]);

    // kubectl, as a user reads it.
    const kubectl = (...args: string[]) =>
      run('kubectl', [...args, '--kubeconfig', envtest().adminKubeconfigPath], { timeout: 60_000 });
    const { stdout } = await kubectl('get', 'sp', weak, mesh);
    const [header, ...rows] = stdout
      .trim()
      .split('\n')
      .map((l) => l.split(/\s+/));
    const at = (row: string[] | undefined, c: string) => row?.[header!.indexOf(c)];
    const weakRow = rows.find((r) => r[0] === weak);
    expect([at(weakRow, 'READY'), at(weakRow, 'CONFLICT'), at(weakRow, 'NAMESPACES')]).toEqual([
      'False',
      'True',
      '0',
    ]);
    const wide = await kubectl('get', 'sp', mesh, '-o', 'wide');
    const [wh, wr] = wide.stdout
      .trim()
      .split('\n')
      .map((l) => l.split(/\s+/));
    const w = (c: string) => wr![wh!.indexOf(c)];
    expect([w('INJECTED'), w('OUTDATED'), w('UNINJECTED')]).toEqual(['2', '1', '1']);
  });

  it('/metrics on the leader has per-policy gauges; a follower exports none', async () => {
    const lead = await leader();
    const follower = operators.find((o) => o !== lead)!;
    const samples = await eventually(
      async () => {
        const s = policySamples(await scrape(lead));
        return s.get(`sidecar_policy_pods{policy="${mesh}",state="injected"}`) === 2 ? s : undefined;
      },
      { what: 'per-policy gauges on the leader' },
    );
    expect(Object.fromEntries(samples)).toEqual({
      [`sidecar_policy_ready{policy="${mesh}"}`]: 1,
      [`sidecar_policy_ready{policy="${strong}"}`]: 1,
      [`sidecar_policy_ready{policy="${weak}"}`]: 0,
      [`sidecar_policy_conflict{policy="${mesh}"}`]: 1,
      [`sidecar_policy_conflict{policy="${strong}"}`]: 0,
      [`sidecar_policy_conflict{policy="${weak}"}`]: 1,
      [`sidecar_policy_namespaces{policy="${mesh}"}`]: 1,
      [`sidecar_policy_namespaces{policy="${strong}"}`]: 1,
      [`sidecar_policy_namespaces{policy="${weak}"}`]: 0,
      [`sidecar_policy_pods{policy="${mesh}",state="injected"}`]: 2,
      [`sidecar_policy_pods{policy="${mesh}",state="outdated"}`]: 1,
      [`sidecar_policy_pods{policy="${mesh}",state="uninjected"}`]: 1,
      [`sidecar_policy_pods{policy="${strong}",state="injected"}`]: 0,
      [`sidecar_policy_pods{policy="${strong}",state="outdated"}`]: 0,
      [`sidecar_policy_pods{policy="${strong}",state="uninjected"}`]: 0,
      [`sidecar_policy_pods{policy="${weak}",state="injected"}`]: 0,
      [`sidecar_policy_pods{policy="${weak}",state="outdated"}`]: 0,
      [`sidecar_policy_pods{policy="${weak}",state="uninjected"}`]: 0,
    });
    const followerText = await scrape(follower);
    expect(followerText).toContain('leader_election_master_status');
    expect(policySamples(followerText).size).toBe(0);
  });

  it("a deleted policy's series disappear", async () => {
    await deletePolicies(kc, [weak]);
    const lead = await leader();
    const s = await eventually(
      async () => {
        const x = policySamples(await scrape(lead));
        return [...x.keys()].some((k) => k.includes(weak)) ? undefined : x;
      },
      { what: `no series of ${weak}` },
    );
    expect(s.get(`sidecar_policy_ready{policy="${mesh}"}`)).toBe(1);
    // The weak policy's namespace conflict is gone with it; the strong one still wins a from mesh.
    const p: SidecarPolicy | undefined = await getPolicy(kc, mesh);
    expect(condition(p, 'Conflict')?.status).toBe('True');
  });
});
