import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CoreV1Api,
  RbacAuthorizationV1Api,
  type V1Namespace,
  type V1PolicyRule,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIELD_MANAGER, POLICY_LABEL, REVISION_ANNOTATION } from '../src/api/index.js';
import { DEFAULT_SECRET_NAME } from '../src/certs/secret-format.js';
import { requestJson } from '../src/kube/index.js';
import type { OperatorHandle } from '../src/operator/index.js';
import {
  admin,
  cleanupWebhooksAfterAll,
  condition,
  createPolicy,
  deletePolicies,
  getPolicy,
  metric,
  shortId,
  startTestOperator,
  waitReady,
} from './controller-support.js';
import { FULLNAME, holder, renderRoles, type RoleDoc } from './chart-rbac-support.js';
import { eventually, testNamespace, userKubeConfig } from './support.js';

const ROOT = join(import.meta.dirname, '..');
const kc = admin();
const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
const core = kc.makeApiClient(CoreV1Api);
const id = shortId();
const user = `ctl-limited-${id}`;
const policy = `ctl-${id}-rbac`;

/** One granted permission per line: `<holder> <Kind> <group>/<resource>[/<name>] <verb>`. */
function grants(roles: RoleDoc[], namespace: string): string[] {
  const names: Record<string, string> = {
    [DEFAULT_SECRET_NAME]: '<secretName>',
    'sidecar-operator-leader': '<leaseName>',
    [FULLNAME]: '<fullname>',
  };
  const out: string[] = [];
  for (const r of roles) {
    const who = `${holder(r, namespace)} ${r.kind}`;
    for (const rule of r.rules ?? []) {
      const targets = [
        ...(rule.nonResourceURLs ?? []).map((url) => `url:${url}`),
        ...(rule.apiGroups ?? []).flatMap((group) =>
          (rule.resources ?? []).flatMap((res) => {
            const on = `${group || 'core'}/${res}`;
            return rule.resourceNames?.length
              ? rule.resourceNames.map((n) => `${on}/${names[n] ?? n}`)
              : [on];
          }),
        ),
      ];
      for (const verb of rule.verbs) out.push(...targets.map((t) => `${who} ${t} ${verb}`));
    }
  }
  return out.sort();
}

/**
 * Every permission the chart can grant, and the code that needs it: `<file>: <text found in it>`.
 * A permission the chart grants that is not here fails the test (nobody needs it: take it out, or
 * name the code that does); so does an entry no value set grants any more.
 */
const NEEDED_BY: Record<string, string> = {
  // The policy controller's cache; the finalizer; status by server-side apply.
  'operator ClusterRole sidecar.dev/sidecarpolicies list':
    'src/controllers/policy/controller.ts: this.policies = new Informer<SidecarPolicy>',
  'operator ClusterRole sidecar.dev/sidecarpolicies watch':
    'src/controllers/policy/controller.ts: this.policies = new Informer<SidecarPolicy>',
  'operator ClusterRole sidecar.dev/sidecarpolicies get':
    'src/controllers/cleanup.ts: policy ??= await requestJson<KubernetesObject>(kc, { path: policyPath(name) })',
  'operator ClusterRole sidecar.dev/sidecarpolicies patch':
    'src/controllers/policy/finalizer.ts: return jsonPatch<SidecarPolicy>(kc, policyPath(name), ops)',
  'operator ClusterRole sidecar.dev/sidecarpolicies/status patch':
    'src/kube/apply.ts: path: `${path}/status`',
  // One MutatingWebhookConfiguration per policy: watched, server-side applied (which creates), deleted.
  'operator ClusterRole admissionregistration.k8s.io/mutatingwebhookconfigurations list':
    'src/controllers/policy/controller.ts: new Informer<V1MutatingWebhookConfiguration>',
  'operator ClusterRole admissionregistration.k8s.io/mutatingwebhookconfigurations watch':
    'src/controllers/policy/controller.ts: new Informer<V1MutatingWebhookConfiguration>',
  'operator ClusterRole admissionregistration.k8s.io/mutatingwebhookconfigurations get':
    'src/controllers/cleanup.ts: current ??= await requestJson<V1MutatingWebhookConfiguration>(kc, { path })',
  'operator ClusterRole admissionregistration.k8s.io/mutatingwebhookconfigurations create':
    'src/controllers/webhooks/webhooks.ts: await applyObject(this.o.kc, desired, { force: true })',
  'operator ClusterRole admissionregistration.k8s.io/mutatingwebhookconfigurations patch':
    'src/controllers/webhooks/webhooks.ts: await applyObject(this.o.kc, desired, { force: true })',
  'operator ClusterRole admissionregistration.k8s.io/mutatingwebhookconfigurations delete':
    "src/controllers/cleanup.ts: await requestJson(kc, { method: 'DELETE', path, query: dryRunQuery(opts) })",
  // Namespaces: selected by label from a cache; marked by server-side apply, unmarked by JSON patch.
  'operator ClusterRole core/namespaces list':
    "src/controllers/policy/controller.ts: new Informer<V1Namespace>(o.kc, { path: '/api/v1/namespaces', log })",
  'operator ClusterRole core/namespaces watch':
    "src/controllers/policy/controller.ts: new Informer<V1Namespace>(o.kc, { path: '/api/v1/namespaces', log })",
  'operator ClusterRole core/namespaces patch':
    'src/controllers/policy/marks.ts: await applyObject(this.kc, renderNamespaceMarks(name, desired), { force: true })',
  // Pod counts and rollout: a metadata-only cache of every pod.
  'operator ClusterRole core/pods list':
    'src/controllers/pod-index.ts: this.informer = new Informer<PodMeta>',
  'operator ClusterRole core/pods watch':
    'src/controllers/pod-index.ts: this.informer = new Informer<PodMeta>',
  // Events: the leader's on policies and the Secret, the webhook's on pods' owners; patch bumps a count.
  'operator ClusterRole core/events create': "src/kube/events.ts: method: 'POST'",
  'operator ClusterRole core/events patch': "src/kube/events.ts: method: 'PATCH'",
  // rollout.enabled: a stale pod's ReplicaSet → its Deployment; workloads read and restarted.
  'operator ClusterRole apps/replicasets get':
    'src/controllers/rollout/rollout.ts: const rs = await requestJson<V1ReplicaSet>',
  'operator ClusterRole apps/deployments get':
    'src/controllers/rollout/rollout.ts: return await requestJson<Workload>(this.kc, { path: workloadPath(key) })',
  'operator ClusterRole apps/statefulsets get':
    'src/controllers/rollout/rollout.ts: return await requestJson<Workload>(this.kc, { path: workloadPath(key) })',
  'operator ClusterRole apps/daemonsets get':
    'src/controllers/rollout/rollout.ts: return await requestJson<Workload>(this.kc, { path: workloadPath(key) })',
  'operator ClusterRole apps/deployments patch':
    "src/controllers/rollout/rollout.ts: method: 'PATCH',\n      path: workloadPath(key)",
  'operator ClusterRole apps/statefulsets patch':
    "src/controllers/rollout/rollout.ts: method: 'PATCH',\n      path: workloadPath(key)",
  'operator ClusterRole apps/daemonsets patch':
    "src/controllers/rollout/rollout.ts: method: 'PATCH',\n      path: workloadPath(key)",
  // metrics.auth=kubernetes: a scraper's token reviewed by the API server.
  'operator ClusterRole authentication.k8s.io/tokenreviews create':
    "src/webhook/metrics-auth.ts: path: '/apis/authentication.k8s.io/v1/tokenreviews'",
  'operator ClusterRole authorization.k8s.io/subjectaccessreviews create':
    "src/webhook/metrics-auth.ts: path: '/apis/authorization.k8s.io/v1/subjectaccessreviews'",
  // Release namespace: one injector template ConfigMap per policy, found by label (RBAC pins neither
  // a label nor a name prefix): the leader writes and deletes them, every replica lists and watches.
  'operator Role core/configmaps create':
    'src/controllers/injector-configmap/injector-configmap.ts: applyObject',
  'operator Role core/configmaps patch':
    'src/controllers/injector-configmap/injector-configmap.ts: applyObject',
  'operator Role core/configmaps get':
    'src/controllers/cleanup.ts: current ??= await requestJson<V1ConfigMap>(kc, { path })',
  'operator Role core/configmaps list': 'src/webhook/sources.ts: INJECTOR_TEMPLATE_SELECTOR',
  'operator Role core/configmaps watch': 'src/webhook/sources.ts: INJECTOR_TEMPLATE_SELECTOR',
  'operator Role core/configmaps delete': 'src/controllers/cleanup.ts: LEGACY_INJECTOR_CONFIGMAP',
  // Admission check (admissionCheck.enabled): a representative injected pod created with dryRun=All.
  'operator ClusterRole core/pods create':
    "src/controllers/admission-check/checker.ts: query: { dryRun: 'All' }",
  // The serving certificate Secret: issued, read, rotated by the leader; watched by every replica.
  'operator Role core/secrets create': 'src/certs/store.ts: secret: await ref.core.createNamespacedSecret',
  'operator Role core/secrets/<secretName> get':
    'src/certs/store.ts: return await ref.core.readNamespacedSecret',
  'operator Role core/secrets/<secretName> update':
    'src/certs/store.ts: const secret = await ref.core.replaceNamespacedSecret',
  'operator Role core/secrets/<secretName> list':
    'src/webhook/sources.ts: `/api/v1/namespaces/${namespace}/secrets`',
  'operator Role core/secrets/<secretName> watch':
    'src/webhook/sources.ts: `/api/v1/namespaces/${namespace}/secrets`',
  // Leader election.
  'operator Role coordination.k8s.io/leases create': "src/kube/leader.ts: method: 'POST', path, body",
  'operator Role coordination.k8s.io/leases/<leaseName> get':
    'src/kube/leader.ts: requestJson<V1Lease>(this.o.kc, { path: this.path',
  'operator Role coordination.k8s.io/leases/<leaseName> patch':
    "src/kube/leader.ts: contentType: 'application/json-patch+json'",
  // Whoever scrapes /metrics (bound through metrics.readers), checked by the SubjectAccessReview above.
  'scraper ClusterRole url:/metrics get':
    "src/webhook/metrics-auth.ts: nonResourceAttributes: { path: METRICS_PATH, verb: 'get' }",
  // The pre-delete hook runs `sidecar-operator uninstall`.
  'uninstall hook ClusterRole admissionregistration.k8s.io/mutatingwebhookconfigurations list':
    'src/cli/commands/uninstall.ts: async function deleteWebhookConfigurations',
  'uninstall hook ClusterRole admissionregistration.k8s.io/mutatingwebhookconfigurations delete':
    'src/cli/commands/uninstall.ts: await deleteWebhookConfiguration(kc, name, { seen: mwc, dryRun: opts.dryRun })',
  'uninstall hook ClusterRole core/namespaces list':
    "src/cli/commands/uninstall.ts: await requestJson<List<KubernetesObject>>(kc, { path: '/api/v1/namespaces' })",
  'uninstall hook ClusterRole core/namespaces patch':
    'src/cli/commands/uninstall.ts: await unmarkNamespace(kc, ns, { dryRun: opts.dryRun })',
  'uninstall hook ClusterRole sidecar.dev/sidecarpolicies list':
    'src/cli/commands/uninstall.ts: removeFinalizer',
  'uninstall hook ClusterRole sidecar.dev/sidecarpolicies get':
    'src/controllers/cleanup.ts: policy ??= await requestJson<KubernetesObject>(kc, { path: policyPath(name) })',
  'uninstall hook ClusterRole sidecar.dev/sidecarpolicies patch':
    'src/controllers/cleanup.ts: export async function removeFinalizer',
  'uninstall hook Role apps/deployments/<fullname> get':
    'src/cli/commands/uninstall.ts: deployment = await requestJson<Deployment>(kc, { path })',
  'uninstall hook Role apps/deployments/scale/<fullname> patch':
    'src/cli/commands/uninstall.ts: path: `${path}/scale`',
  'uninstall hook Role core/configmaps list': 'src/cli/commands/uninstall.ts: INJECTOR_TEMPLATE_SELECTOR',
  'uninstall hook Role core/configmaps get':
    'src/controllers/cleanup.ts: current ??= await requestJson<V1ConfigMap>(kc, { path })',
  'uninstall hook Role core/configmaps delete': 'src/cli/commands/uninstall.ts: deleteInjectorTemplate',
  'uninstall hook Role core/secrets/<secretName> delete':
    'src/cli/commands/uninstall.ts: async function deleteIfPresent',
  'uninstall hook Role coordination.k8s.io/leases/<leaseName> delete':
    'src/cli/commands/uninstall.ts: async function deleteIfPresent',
};

/** Value sets whose rules differ: the union must be exactly NEEDED_BY. */
const VALUE_SETS: Record<string, string[]> = {
  defaults: [],
  'rollout on': ['rollout.enabled=true'],
  'metrics open': ['metrics.auth=none'],
  'cert-manager': ['certificates.source=cert-manager'],
  'one replica, no election': ['replicaCount=1', 'leaderElection.enabled=false'],
  'pods not counted': ['podCounting.enabled=false'],
  'no admission check': ['admissionCheck.enabled=false'],
};

describe('every permission the chart grants, and the code that needs it', () => {
  let rendered: Record<string, string[]>;
  beforeAll(async () => {
    rendered = {};
    for (const [label, set] of Object.entries(VALUE_SETS))
      rendered[label] = grants(await renderRoles('rbac-ns', set), 'rbac-ns');
  });

  it('grants nothing that no code path needs, under any value set', () => {
    for (const [label, granted] of Object.entries(rendered)) {
      const unexplained = granted.filter((g) => NEEDED_BY[g] === undefined);
      expect(unexplained, `${label}: granted, needed by nobody`).toEqual([]);
    }
  });

  it('names code that exists for each, and each is still granted by some value set', () => {
    const all = new Set(Object.values(rendered).flat());
    for (const [grant, where] of Object.entries(NEEDED_BY)) {
      expect(all.has(grant), `${grant}: no longer granted; drop it from the table`).toBe(true);
      const [file, text] = [where.slice(0, where.indexOf(': ')), where.slice(where.indexOf(': ') + 2)];
      expect(readFileSync(join(ROOT, file), 'utf8').includes(text), `${grant}: ${where}`).toBe(true);
    }
  });

  it('grants restarts only with rollout.enabled, token reviews only with metrics.auth=kubernetes, pods only when counted', () => {
    const apps = (g: string[]) => g.filter((x) => / apps\//.test(x) && x.startsWith('operator'));
    expect(apps(rendered.defaults!)).toEqual([]);
    expect(rendered.defaults!).toContain('operator ClusterRole core/pods create');
    expect(rendered['no admission check']!.filter((x) => x.includes('core/pods create'))).toEqual([]);
    expect(apps(rendered['rollout on']!)).toHaveLength(7);
    expect(rendered['metrics open']!.filter((x) => /review|url:/.test(x))).toEqual([]);
    expect(rendered.defaults!.filter((x) => /review|url:/.test(x))).toHaveLength(3);
    // cert-manager writes the Secret: the operator only reads it.
    expect(rendered['cert-manager']!.filter((x) => x.startsWith('operator Role core/secrets'))).toEqual([
      'operator Role core/secrets/<secretName> get',
      'operator Role core/secrets/<secretName> list',
      'operator Role core/secrets/<secretName> watch',
    ]);
    expect(
      rendered['one replica, no election']!.filter((x) => x.startsWith('operator Role coordination')),
    ).toEqual([]);
  });

  it('never grants * nor any pod read but list/watch, secret list cluster-wide, or namespace create/delete', () => {
    for (const granted of Object.values(rendered)) {
      for (const g of granted) {
        expect(g).not.toMatch(/\*/);
        expect(g).not.toMatch(/ClusterRole core\/(secrets|configmaps) (get|create|update|delete|patch)$/);
        // Pods: created only as dry runs (the admission check; a ValidatingAdmissionPolicy refuses
        // the operator any other create), never read whole, changed or deleted.
        expect(g).not.toMatch(/ClusterRole core\/pods (get|update|delete|patch)$/);
        expect(g).not.toMatch(/core\/namespaces (create|delete|update)$/);
      }
    }
  });
});

const roles = [`${user}-base`, `${user}-namespaces`];
let opNs: string;
let operator: OperatorHandle;
cleanupWebhooksAfterAll(kc, () => [policy]);

async function bind(kind: 'ClusterRole' | 'Role', name: string, rules: V1PolicyRule[], namespace?: string) {
  const roleRef = { apiGroup: 'rbac.authorization.k8s.io', kind, name };
  const subjects = [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }];
  if (kind === 'ClusterRole') {
    await rbac.createClusterRole({ body: { metadata: { name }, rules } });
    await rbac.createClusterRoleBinding({ body: { metadata: { name }, roleRef, subjects } });
  } else {
    await rbac.createNamespacedRole({ namespace: namespace!, body: { metadata: { name }, rules } });
    await rbac.createNamespacedRoleBinding({
      namespace: namespace!,
      body: { metadata: { name }, roleRef, subjects },
    });
  }
}

beforeAll(async () => {
  opNs = await testNamespace('ctl-rbac-op');
  // Exactly what the chart grants the operator (defaults), but patch on namespaces.
  const chart = await renderRoles(opNs);
  const clusterRole = chart.find((r) => r.kind === 'ClusterRole' && holder(r, opNs) === 'operator')!;
  const role = chart.find((r) => r.kind === 'Role' && holder(r, opNs) === 'operator')!;
  const withoutNamespacePatch = clusterRole.rules!.map((r) =>
    r.resources?.includes('namespaces') ? { ...r, verbs: r.verbs.filter((v) => v !== 'patch') } : r,
  );
  expect(withoutNamespacePatch).not.toEqual(clusterRole.rules);
  await bind('ClusterRole', roles[0]!, withoutNamespacePatch);
  await bind('Role', roles[0]!, role.rules!, opNs);
  operator = await startTestOperator(opNs, id, { leaderElect: false, kc: await userKubeConfig(user) });
});

afterAll(async () => {
  try {
    await deletePolicies(kc, [policy]);
  } finally {
    await operator?.stop();
    for (const name of roles) {
      await rbac.deleteClusterRoleBinding({ name }).catch(() => undefined);
      await rbac.deleteClusterRole({ name }).catch(() => undefined);
    }
  }
});

/** The fields a manager owns on an object, as the API server records them. */
function owned(ns: V1Namespace, manager: string): unknown[] {
  return (ns.metadata?.managedFields ?? []).filter((m) => m.manager === manager).map((m) => m.fieldsV1);
}

describe('a reconcile the API server refuses', () => {
  it('reports Ready=False with the reason, retries with backoff, and recovers once allowed', async () => {
    // A namespace whose labels and annotations belong to someone else (server-side apply).
    const ns = `ctl-rbac-${id}`;
    const platform = (labels: Record<string, string>) =>
      requestJson<V1Namespace>(kc, {
        method: 'PATCH',
        path: `/api/v1/namespaces/${ns}`,
        query: { fieldManager: 'platform-team', force: true },
        body: {
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name: ns, labels, annotations: { owner: 'payments' } },
        },
        contentType: 'application/apply-patch+yaml',
      });
    // Pod Security in warn mode: a label of the platform team's, which admits the policy's pods.
    await platform({ team: 'payments', 'pod-security.kubernetes.io/warn': 'restricted' });
    afterAll(() => core.deleteNamespace({ name: ns }).catch(() => undefined));

    await createPolicy(kc, policy, id, { selector: { namespaces: [ns] } });
    // Until the first certificate exists Ready is False for that reason; then the namespace write fails.
    const failed = await eventually(
      async () => {
        const p = await getPolicy(kc, policy);
        return condition(p, 'Ready')?.reason === 'NamespaceSyncFailed' ? p : undefined;
      },
      { what: 'Ready=False because of the namespace write' },
    );
    expect(condition(failed, 'Ready')).toMatchObject({ status: 'False', reason: 'NamespaceSyncFailed' });
    expect(condition(failed, 'Ready')?.message).toMatch(/forbidden/i);
    expect(condition(failed, 'NamespacesSynced')).toMatchObject({
      status: 'False',
      reason: 'NamespaceSyncFailed',
    });
    expect(condition(failed, 'TemplateRendered')?.status).toBe('True');
    expect(condition(failed, 'WebhookConfigured')?.status).toBe('True');

    const retries = metric(operator, 'workqueue_retries_total');
    const errors = metric(operator, 'controller_runtime_reconcile_total', { result: 'error' });
    const r0 = await retries();
    await new Promise((r) => setTimeout(r, 3000));
    const r1 = await retries();
    // 50 ms doubling to 2 s: a handful of retries in 3 s, not a hot loop (and not none).
    expect(r1 - r0).toBeGreaterThanOrEqual(2);
    expect(r1 - r0).toBeLessThan(15);
    expect(await errors()).toBeGreaterThanOrEqual(r1 - r0);

    await bind('ClusterRole', roles[1]!, [{ apiGroups: [''], resources: ['namespaces'], verbs: ['patch'] }]);
    const ok = await waitReady(kc, policy, 'True');
    expect(ok.status?.governedNamespaces).toEqual([ns]);
    const p = await eventually(async () => {
      const x = await getPolicy(kc, policy);
      return x?.status?.namespaces === 1 ? x : undefined;
    });
    expect(condition(p, 'NamespacesSynced')?.status).toBe('True');
  });

  it('marks a namespace by server-side apply owning only its two keys; the owner’s labels survive', async () => {
    const ns = `ctl-rbac-${id}`;
    const marked = await core.readNamespace({ name: ns });
    expect(marked.metadata?.labels).toMatchObject({
      team: 'payments',
      'pod-security.kubernetes.io/warn': 'restricted',
      [POLICY_LABEL]: policy,
    });
    expect(marked.metadata?.annotations).toMatchObject({ owner: 'payments' });
    expect(marked.metadata?.annotations?.[REVISION_ANNOTATION]).toBeDefined();
    // The operator's field set: our label and our annotation, nothing else.
    expect(owned(marked, FIELD_MANAGER)).toEqual([
      {
        'f:metadata': {
          'f:annotations': { [`f:${REVISION_ANNOTATION}`]: {} },
          'f:labels': { [`f:${POLICY_LABEL}`]: {} },
        },
      },
    ]);
    expect(JSON.stringify(owned(marked, 'platform-team'))).toContain('"f:team"');
    expect(JSON.stringify(owned(marked, 'platform-team'))).toContain('pod-security.kubernetes.io/warn');
    expect(JSON.stringify(owned(marked, 'platform-team'))).not.toContain('sidecar.dev');

    // The owner changes its labels; resyncs (every 2 s) later, both sides have what they set.
    await requestJson<V1Namespace>(kc, {
      method: 'PATCH',
      path: `/api/v1/namespaces/${ns}`,
      query: { fieldManager: 'platform-team', force: true },
      body: {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: ns, labels: { team: 'checkout' }, annotations: { owner: 'payments' } },
      },
      contentType: 'application/apply-patch+yaml',
    });
    await operator.resync();
    await new Promise((r) => setTimeout(r, 2500));
    const after = await core.readNamespace({ name: ns });
    expect(after.metadata?.labels?.team).toBe('checkout');
    // Dropped from the owner's apply, so gone: the operator did not keep or own it.
    expect(after.metadata?.labels?.['pod-security.kubernetes.io/warn']).toBeUndefined();
    expect(after.metadata?.labels?.[POLICY_LABEL]).toBe(policy);
    expect(owned(after, FIELD_MANAGER)).toEqual(owned(marked, FIELD_MANAGER));
  });
});
