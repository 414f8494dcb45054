import {
  AdmissionregistrationV1Api,
  AppsV1Api,
  CoreV1Api,
  type V1MutatingWebhookConfiguration,
  type V1Pod,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INIT_CONTAINER, policyPath, type SidecarPolicy } from '../src/api/index.js';
import { parseServingMaterial } from '../src/certs/index.js';
import { jsonPatch, requestJson } from '../src/kube/index.js';
import type { OperatorHandle } from '../src/operator/index.js';
import {
  INJECTOR_TEMPLATE_SELECTOR,
  injectorTemplateName,
  parseInjectorTemplate,
  parseInjectorTemplates,
} from '../src/render/injector-configmap.js';
import {
  admin,
  cleanupWebhooksAfterAll,
  condition,
  createInjectedPod,
  createPolicy,
  deletePolicies,
  getPolicy,
  injected,
  podSpec,
  shortId,
  startTestOperator,
  TEST_INIT_IMAGE,
  waitReady,
} from './controller-support.js';
import { eventually, testNamespace } from './support.js';

const kc = admin();
const core = kc.makeApiClient(CoreV1Api);
const apps = kc.makeApiClient(AppsV1Api);
const admission = kc.makeApiClient(AdmissionregistrationV1Api);
const id = shortId();
const policies: string[] = [];
const policyName = (suffix: string): string => {
  const n = `ctl-${id}-${suffix}`;
  policies.push(n);
  return n;
};

let opNs: string;
let operator: OperatorHandle;

cleanupWebhooksAfterAll(kc, () => policies);

beforeAll(async () => {
  opNs = await testNamespace('ctl-op');
  operator = await startTestOperator(opNs, id, { leaderElect: false });
});

afterAll(async () => {
  try {
    await deletePolicies(kc, policies);
  } finally {
    await operator?.stop();
  }
});

const readMwc = (name: string): Promise<V1MutatingWebhookConfiguration> =>
  admission.readMutatingWebhookConfiguration({ name });
const readNs = (name: string) => core.readNamespace({ name });
const readTemplates = async () =>
  parseInjectorTemplates(
    (await core.listNamespacedConfigMap({ namespace: opNs, labelSelector: INJECTOR_TEMPLATE_SELECTOR }))
      .items,
  ).templates;
const patchPolicy = (name: string, patch: unknown) =>
  requestJson<SidecarPolicy>(kc, {
    method: 'PATCH',
    path: policyPath(name),
    body: patch,
    contentType: 'application/merge-patch+json',
  });

describe('reconcile loop against a real API server', () => {
  let a: string;
  let b: string;
  let c: string;
  let mesh: string;

  beforeAll(async () => {
    a = await testNamespace('ctl-a', { team: 'payments' });
    b = await testNamespace('ctl-b', { [`mesh-${id}`]: 'on' });
    c = await testNamespace('ctl-c');
    // A pod from before the policy: it will count as missed by injection.
    await core.createNamespacedPod({ namespace: a, body: podSpec('before') });
    mesh = policyName('mesh');
  });

  it('renders the policy’s template ConfigMap, the webhook configuration and the marks, and reports Ready with counts', async () => {
    const started = Date.now();
    await createPolicy(kc, mesh, id, {
      selector: { namespaces: [a], namespaceSelector: { matchLabels: { [`mesh-${id}`]: 'on' } } },
      injection: { failurePolicy: 'Fail', timeoutSeconds: 5 },
    });
    const ready = await waitReady(kc, mesh);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeLessThan(20_000);
    const rev = ready.status?.revision;
    expect(rev).toMatch(/^[0-9a-f]{10}$/);
    expect(ready.metadata?.finalizers).toContain('sidecar.dev/cleanup');
    for (const t of ['TemplateRendered', 'WebhookConfigured', 'NamespacesSynced', 'CertificateReady'])
      expect(condition(ready, t)?.status, t).toBe('True');
    expect(condition(ready, 'Conflict')?.status).toBe('False');
    expect(ready.status).toMatchObject({
      namespaces: 2,
      governedNamespaces: [a, b].sort(),
      uninjectedPods: 1,
    });

    expect((await readTemplates()).get(mesh)?.revision).toBe(rev);

    const mwc = await readMwc(mesh);
    expect(mwc.metadata?.ownerReferences?.[0]).toMatchObject({
      kind: 'SidecarPolicy',
      name: mesh,
      controller: true,
    });
    const [w] = mwc.webhooks ?? [];
    expect(w?.clientConfig.url).toBe(`https://127.0.0.1:${operator.webhookPort}/inject/${mesh}`);
    expect(w?.namespaceSelector?.matchLabels).toEqual({ 'sidecar.dev/policy': mesh });
    expect(w?.namespaceSelector?.matchExpressions).toEqual([
      { key: 'sidecar.dev/injection', operator: 'NotIn', values: ['disabled'] },
      {
        key: 'kubernetes.io/metadata.name',
        operator: 'NotIn',
        values: ['kube-system', 'kube-public', 'kube-node-lease', opNs],
      },
    ]);
    expect(w).toMatchObject({
      failurePolicy: 'Fail',
      timeoutSeconds: 5,
      reinvocationPolicy: 'IfNeeded',
      sideEffects: 'None',
    });
    const secret = await core.readNamespacedSecret({ name: 'sidecar-operator-certs', namespace: opNs });
    const bundle = Buffer.from(w?.clientConfig.caBundle ?? '', 'base64').toString();
    expect(bundle).toBe(parseServingMaterial(secret).bundlePem);

    for (const ns of [a, b]) {
      const n = await readNs(ns);
      expect(n.metadata?.labels?.['sidecar.dev/policy'], ns).toBe(mesh);
      expect(n.metadata?.annotations?.['sidecar.dev/revision'], ns).toBe(rev);
    }
    expect((await readNs(c)).metadata?.labels?.['sidecar.dev/policy']).toBeUndefined();

    const pod = await createInjectedPod(kc, a, podSpec('after'));
    expect(injected(pod)).toBe(true);
    expect(pod.metadata?.labels?.['sidecar.dev/revision']).toBe(rev);
    const counted = await eventually(
      async () => {
        const p = await getPolicy(kc, mesh);
        return p?.status?.injectedPods === 1 ? p : undefined;
      },
      { what: 'injectedPods = 1' },
    );
    expect(counted.status).toMatchObject({ injectedPods: 1, outdatedPods: 0, uninjectedPods: 1 });
  });

  it('a policy change bumps the revision everywhere and counts the pods injected before as outdated', async () => {
    const before = (await getPolicy(kc, mesh))!.status!.revision;
    await patchPolicy(mesh, { spec: { interception: { excludeOutboundPorts: ['3306'] } } });
    const after = await eventually(
      async () => {
        const p = await waitReady(kc, mesh);
        return p.status?.revision !== before && p.status?.outdatedPods === 1 ? p : undefined;
      },
      { what: 'a new revision with one outdated pod' },
    );
    const rev = after.status!.revision!;
    expect((await readTemplates()).get(mesh)?.revision).toBe(rev);
    expect((await readNs(a)).metadata?.annotations?.['sidecar.dev/revision']).toBe(rev);
    expect((await readNs(b)).metadata?.annotations?.['sidecar.dev/revision']).toBe(rev);
    expect(after.status).toMatchObject({ injectedPods: 1, outdatedPods: 1 });
    const fresh = await eventually(
      async () => {
        const p = await requestJson<V1Pod>(kc, {
          method: 'POST',
          path: `/api/v1/namespaces/${a}/pods`,
          query: { dryRun: 'All' },
          body: podSpec('next'),
        });
        return p.metadata?.labels?.['sidecar.dev/revision'] === rev ? p : undefined;
      },
      { what: 'new pods get the new revision' },
    );
    expect(injected(fresh)).toBe(true);
  });

  it('two policies on one namespace: the higher priority governs, the loser reports Conflict naming it', async () => {
    const strong = policyName('strong');
    await createPolicy(kc, strong, id, { selector: { namespaces: [a] }, priority: 10 });
    await waitReady(kc, strong);
    await eventually(
      async () => ((await readNs(a)).metadata?.labels?.['sidecar.dev/policy'] === strong ? true : undefined),
      {
        what: `${a} governed by ${strong}`,
      },
    );
    const loser = await eventually(
      async () => {
        const p = await getPolicy(kc, mesh);
        return condition(p, 'Conflict')?.status === 'True' ? p : undefined;
      },
      { what: 'Conflict on the loser' },
    );
    expect(condition(loser, 'Conflict')).toMatchObject({ reason: 'NamespaceConflict' });
    expect(condition(loser, 'Conflict')?.message).toContain(`${a} (governed by ${strong})`);
    expect(loser.status?.governedNamespaces).toEqual([b]);
    expect(condition(await getPolicy(kc, strong), 'Conflict')?.status).toBe('False');
    // Same priority: the older policy keeps the namespace.
    const younger = policyName('younger');
    await createPolicy(kc, younger, id, { selector: { namespaces: [b] } });
    const y = await eventually(
      async () => {
        const p = await getPolicy(kc, younger);
        return condition(p, 'Conflict')?.status === 'True' ? p : undefined;
      },
      { what: 'Conflict on the younger policy' },
    );
    expect(condition(y, 'Conflict')?.message).toContain(`${b} (governed by ${mesh})`);
    // It lost every namespace it selects: in force nowhere, so not Ready. The loser above keeps one.
    const lost = await waitReady(kc, younger, 'False');
    expect(condition(lost, 'Ready')).toMatchObject({ reason: 'NamespaceConflict' });
    expect(condition(lost, 'Ready')?.message).toContain(`${b} (governed by ${mesh})`);
    expect(condition(await getPolicy(kc, mesh), 'Ready')?.status).toBe('True');
    expect((await readNs(b)).metadata?.labels?.['sidecar.dev/policy']).toBe(mesh);
    await deletePolicies(kc, [younger]);
  });

  it('deleting a policy removes its webhook configuration, template ConfigMap and marks, and nothing else', async () => {
    const strong = `ctl-${id}-strong`;
    await deletePolicies(kc, [strong]);
    await expect(readMwc(strong)).rejects.toMatchObject({ code: 404 });
    expect((await readTemplates()).has(strong)).toBe(false);
    // The namespace falls back to the policy that still selects it.
    await eventually(
      async () => ((await readNs(a)).metadata?.labels?.['sidecar.dev/policy'] === mesh ? true : undefined),
      {
        what: `${a} back to ${mesh}`,
      },
    );
    await deletePolicies(kc, [mesh]);
    await expect(readMwc(mesh)).rejects.toMatchObject({ code: 404 });
    expect((await readTemplates()).has(mesh)).toBe(false);
    for (const ns of [a, b]) {
      const n = await readNs(ns);
      expect(n.metadata?.labels?.['sidecar.dev/policy'], ns).toBeUndefined();
      expect(n.metadata?.annotations?.['sidecar.dev/revision'], ns).toBeUndefined();
    }
    expect((await readNs(a)).metadata?.labels?.team).toBe('payments');
    expect((await readNs(b)).metadata?.labels?.[`mesh-${id}`]).toBe('on');
  });
});

describe('workloads and drift', () => {
  let ns: string;
  let name: string;

  beforeAll(async () => {
    ns = await testNamespace('ctl-drift');
    name = policyName('drift');
    await createPolicy(kc, name, id, {
      selector: { namespaces: [ns] },
      injection: { failurePolicy: 'Ignore' },
    });
    await waitReady(kc, name);
  });

  it('a Deployment in a governed namespace gets every pod injected, sidecar-init from the operator’s --init-image', async () => {
    await createInjectedPod(kc, ns, podSpec('probe'));
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: 'web' },
        spec: {
          replicas: 3,
          selector: { matchLabels: { app: 'web' } },
          template: podSpec('web', { app: 'web' }),
        },
      },
    });
    const pods = await eventually(
      async () => {
        const list = await core.listNamespacedPod({ namespace: ns, labelSelector: 'app=web' });
        return list.items.length === 3 ? list.items : undefined;
      },
      { what: 'three pods of the Deployment', timeoutMs: 60_000 },
    );
    for (const p of pods) {
      expect(injected(p), p.metadata?.name).toBe(true);
      // The policy names no init.image: the operator's own fills it in.
      const init = p.spec?.initContainers?.find((c) => c.name === INIT_CONTAINER);
      expect(init?.image, p.metadata?.name).toBe(TEST_INIT_IMAGE);
    }
  });

  const mwcPath = () => `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${name}`;
  const repaired = async (what: string, check: () => Promise<boolean>) => {
    const t0 = Date.now();
    await eventually(async () => ((await check().catch(() => false)) ? true : undefined), {
      what,
      timeoutMs: 10_000,
    });
    return Date.now() - t0;
  };

  it('repairs a deleted webhook configuration, a removed caBundle and an edited selector', async () => {
    const good = await readMwc(name);
    const bundle = good.webhooks?.[0]?.clientConfig.caBundle;
    await admission.deleteMutatingWebhookConfiguration({ name });
    await repaired(
      'webhook configuration re-created',
      async () => (await readMwc(name)).webhooks?.[0]?.clientConfig.caBundle === bundle,
    );
    await jsonPatch(kc, mwcPath(), [{ op: 'remove', path: '/webhooks/0/clientConfig/caBundle' }]);
    await repaired(
      'caBundle restored',
      async () => (await readMwc(name)).webhooks?.[0]?.clientConfig.caBundle === bundle,
    );
    await jsonPatch(kc, mwcPath(), [
      { op: 'replace', path: '/webhooks/0/namespaceSelector', value: {} },
      { op: 'replace', path: '/webhooks/0/failurePolicy', value: 'Fail' },
    ]);
    await repaired('selector restored', async () => {
      const w = (await readMwc(name)).webhooks?.[0];
      return (
        w?.namespaceSelector?.matchLabels?.['sidecar.dev/policy'] === name && w.failurePolicy === 'Ignore'
      );
    });
  });

  it('repairs a removed namespace mark and a hand-edited ConfigMap', async () => {
    const rev = (await getPolicy(kc, name))!.status!.revision;
    await jsonPatch(kc, `/api/v1/namespaces/${ns}`, [
      { op: 'remove', path: '/metadata/labels/sidecar.dev~1policy' },
      { op: 'replace', path: '/metadata/annotations/sidecar.dev~1revision', value: 'stale' },
    ]);
    await repaired('namespace mark restored', async () => {
      const n = await readNs(ns);
      return (
        n.metadata?.labels?.['sidecar.dev/policy'] === name &&
        n.metadata.annotations?.['sidecar.dev/revision'] === rev
      );
    });
    const cmName = injectorTemplateName(name);
    await jsonPatch(kc, `/api/v1/namespaces/${opNs}/configmaps/${cmName}`, [
      { op: 'replace', path: '/data/template.json', value: '{"policy":"tampered"}' },
    ]);
    await repaired('ConfigMap restored', async () => {
      const cm = await core.readNamespacedConfigMap({ name: cmName, namespace: opNs });
      const parsed = parseInjectorTemplate(cm);
      return 'template' in parsed && parsed.template.revision === rev;
    });
    await core.deleteNamespacedConfigMap({ name: cmName, namespace: opNs });
    await repaired(
      'deleted ConfigMap written again',
      async () => (await readTemplates()).get(name)?.revision === rev,
    );
  });
});
