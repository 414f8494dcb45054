import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import {
  AdmissionregistrationV1Api,
  type V1ValidatingAdmissionPolicyBinding,
  CoreV1Api,
  RbacAuthorizationV1Api,
  type KubeConfig,
  type V1MutatingWebhookConfiguration,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { POLICY_LABEL, REVISION_ANNOTATION } from '../src/api/index.js';
import { deleteWebhookConfiguration, unmarkNamespace } from '../src/controllers/cleanup.js';
import { applyObject, jsonPatch, requestJson } from '../src/kube/index.js';
import { MANAGED_BY, MANAGED_BY_LABEL } from '../src/render/injector-configmap.js';
import { renderNamespaceMarks } from '../src/render/namespace-marks.js';
import { adminKubeConfig, envtest, eventually, testNamespace, userKubeConfig } from './support.js';

const CHART = join(import.meta.dirname, '..', 'charts', 'sidecar-operator');
const admin = adminKubeConfig();
const core = admin.makeApiClient(CoreV1Api);
const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
const adm = admin.makeApiClient(AdmissionregistrationV1Api);
const id = Math.random().toString(16).slice(2, 8);
const release = `og-${id}`;
const MWC = '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations';
let operator: KubeConfig;
let releaseNs: string;
let tenant: string;
const made: { vap?: string; mwcs: string[] } = { mwcs: [] };

const webhook = (name: string, labels: Record<string, string>): V1MutatingWebhookConfiguration => ({
  apiVersion: 'admissionregistration.k8s.io/v1',
  kind: 'MutatingWebhookConfiguration',
  metadata: { name, labels },
  webhooks: [],
});

/** The API server's refusal of `f`, or undefined when it went through. */
async function refusal(f: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await f();
    return undefined;
  } catch (err) {
    return String((err as Error).message);
  }
}

beforeAll(async () => {
  releaseNs = await testNamespace('og-release');
  tenant = await testNamespace('og-tenant', {
    team: 'payments',
    'pod-security.kubernetes.io/enforce': 'restricted',
  });
  const r = spawnSync(
    envtest().binaries.helm,
    [
      'template',
      release,
      CHART,
      '-n',
      releaseNs,
      '--api-versions',
      'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy',
      '--show-only',
      'templates/operator-guard.yaml',
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(r.stderr);
  for (const doc of parseAllDocuments(r.stdout).map(
    (d) => d.toJS() as { kind: string; metadata: { name: string } },
  )) {
    made.vap = doc.metadata.name;
    if (doc.kind === 'ValidatingAdmissionPolicy') await adm.createValidatingAdmissionPolicy({ body: doc });
    else
      await adm.createValidatingAdmissionPolicyBinding({ body: doc as V1ValidatingAdmissionPolicyBinding });
  }
  // The operator's ServiceAccount name, with the permissions the chart grants it on both kinds.
  const user = `system:serviceaccount:${releaseNs}:${release}-sidecar-operator`;
  await rbac.createClusterRole({
    body: {
      metadata: { name: release },
      rules: [
        { apiGroups: [''], resources: ['namespaces'], verbs: ['list', 'watch', 'patch'] },
        {
          apiGroups: ['admissionregistration.k8s.io'],
          resources: ['mutatingwebhookconfigurations'],
          verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'],
        },
      ],
    },
  });
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name: release },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: release },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
    },
  });
  operator = await userKubeConfig(user);
  // Active once a stranger's label change is refused (the API server loads policies asynchronously).
  const answers: (string | undefined)[] = [];
  await eventually(
    async () => {
      const answer = await refusal(() =>
        jsonPatch(operator, `/api/v1/namespaces/${tenant}`, [
          { op: 'add', path: '/metadata/labels/probe', value: `x${answers.length}` },
        ]),
      );
      answers.push(answer);
      return answer?.includes('sidecar.dev/*') ? true : undefined;
    },
    { what: 'the operator guard in force', timeoutMs: 30_000 },
  ).catch(async (err: unknown) => {
    const vap = await adm.readValidatingAdmissionPolicy({ name: made.vap! });
    throw new Error(
      `${String(err)}; answers: ${answers.slice(-3).join(' | ')}; ${JSON.stringify(vap.status)}`,
    );
  });
});

afterAll(async () => {
  for (const n of made.mwcs)
    await requestJson(admin, { method: 'DELETE', path: `${MWC}/${n}` }).catch(() => undefined);
  if (made.vap) {
    await adm.deleteValidatingAdmissionPolicyBinding({ name: made.vap }).catch(() => undefined);
    await adm.deleteValidatingAdmissionPolicy({ name: made.vap }).catch(() => undefined);
  }
  await rbac.deleteClusterRoleBinding({ name: release }).catch(() => undefined);
  await rbac.deleteClusterRole({ name: release }).catch(() => undefined);
});

describe('the operator guard (ValidatingAdmissionPolicy on the operator’s own writes)', () => {
  it('lets the operator’s token change only sidecar.dev/* keys of a namespace', async () => {
    const ns = `/api/v1/namespaces/${tenant}`;
    // Lifting Pod Security, relabelling: refused although RBAC allows patch.
    const lift = await refusal(() =>
      jsonPatch(operator, ns, [
        { op: 'remove', path: '/metadata/labels/pod-security.kubernetes.io~1enforce' },
      ]),
    );
    expect(lift).toMatch(/may change only sidecar\.dev\/\* labels and annotations/);
    expect(
      await refusal(() =>
        jsonPatch(operator, ns, [{ op: 'replace', path: '/metadata/labels/team', value: 'x' }]),
      ),
    ).toMatch(/sidecar\.dev/);
    expect(
      await refusal(() =>
        jsonPatch(operator, ns, [{ op: 'add', path: '/metadata/annotations', value: { a: 'b' } }]),
      ),
    ).toMatch(/sidecar\.dev/);
    // What the controller really sends goes through: the marks by apply, their removal by patch.
    await applyObject(operator, renderNamespaceMarks(tenant, { policy: 'p', revision: 'r1' }), {
      force: true,
    });
    let seen = await core.readNamespace({ name: tenant });
    expect(seen.metadata?.labels?.[POLICY_LABEL]).toBe('p');
    expect(seen.metadata?.annotations?.[REVISION_ANNOTATION]).toBe('r1');
    expect(await unmarkNamespace(operator, seen)).toHaveLength(2);
    seen = await core.readNamespace({ name: tenant });
    expect(seen.metadata?.labels).toMatchObject({
      team: 'payments',
      'pod-security.kubernetes.io/enforce': 'restricted',
    });
    expect(seen.metadata?.labels?.[POLICY_LABEL]).toBeUndefined();
    // Anyone else is not matched.
    await jsonPatch(admin, ns, [{ op: 'add', path: '/metadata/labels/audited', value: 'yes' }]);
  });

  it('lets the operator’s token write only webhook configurations labelled as its own', async () => {
    const ours = `og-ours-${id}`;
    const stranger = `og-stranger-${id}`;
    made.mwcs.push(ours, stranger);
    expect(
      await refusal(() => applyObject(operator, webhook(`og-unlabelled-${id}`, {}), { force: true })),
    ).toMatch(/only configurations labelled app\.kubernetes\.io\/managed-by=sidecar-operator/);
    await applyObject(operator, webhook(ours, { [MANAGED_BY_LABEL]: MANAGED_BY }), { force: true });
    // Taking its label away (to make it someone else's, or a stranger's ours) is refused.
    expect(
      await refusal(() =>
        jsonPatch(operator, `${MWC}/${ours}`, [
          { op: 'remove', path: `/metadata/labels/${MANAGED_BY_LABEL.replace('/', '~1')}` },
        ]),
      ),
    ).toMatch(/managed-by=sidecar-operator/);
    await requestJson(admin, { method: 'POST', path: MWC, body: webhook(stranger, { app: 'other-mesh' }) });
    expect(
      await refusal(() => requestJson(operator, { method: 'DELETE', path: `${MWC}/${stranger}` })),
    ).toMatch(/managed-by=sidecar-operator/);
    expect(
      await refusal(() =>
        jsonPatch(operator, `${MWC}/${stranger}`, [
          { op: 'add', path: `/metadata/labels/${MANAGED_BY_LABEL.replace('/', '~1')}`, value: MANAGED_BY },
        ]),
      ),
    ).toMatch(/managed-by=sidecar-operator/);
    expect(await deleteWebhookConfiguration(operator, ours)).toBe('deleted');
    expect(await deleteWebhookConfiguration(operator, stranger)).toBe('not-ours');
  });
});
