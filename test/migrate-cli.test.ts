import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AdmissionregistrationV1Api, CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { policyPath } from '../src/api/index.js';
import { MAIN, run, type Run } from '../src/dev/envtest/node-tools.js';
import type { MigrationPlan } from '../src/doctor/index.js';
import { requestJson } from '../src/kube/index.js';
import { admin, createPolicy, podSpec, shortId } from './controller-support.js';
import { envtest, testNamespace } from './support.js';

const exec = promisify(execFile);

const id = shortId();
const selectorKey = `migrate-${id}`;
const policy = `migrate-${id}`;
const webhookName = `istio-sidecar-injector-${id}`;
const kc = admin();
const core = kc.makeApiClient(CoreV1Api);
let shop = '';
let books = '';

function migrate(...args: string[]): Promise<Run> {
  return run(process.execPath, [
    MAIN,
    'migrate',
    '--kubeconfig',
    envtest().adminKubeconfigPath,
    '--policy',
    policy,
    ...args,
  ]);
}

async function planFor(namespace: string): Promise<{ code: number; plan: MigrationPlan }> {
  const run = await migrate('-n', namespace, '-o', 'json');
  expect(run.stderr).toBe('');
  return { code: run.code, plan: JSON.parse(run.stdout) as MigrationPlan };
}

/** Runs a printed step as a user would paste it (kubectl from the control plane's binaries). */
async function runStep(step: string): Promise<void> {
  const words = step.match(/'[^']*'|\S+/g)!.map((w) => w.replace(/^'(.*)'$/, '$1'));
  expect(words[0]).toBe('kubectl');
  await exec(join(envtest().binaries.dir, 'kubectl'), [
    '--kubeconfig',
    envtest().adminKubeconfigPath,
    ...words.slice(1),
  ]);
}

beforeAll(async () => {
  await createPolicy(kc, policy, `migrate-shard-${id}`, {
    selector: { namespaceSelector: { matchLabels: { [selectorKey]: 'ours' } } },
  });
  shop = await testNamespace('migrate-shop', { 'istio-injection': 'enabled', [`${selectorKey}-test`]: 'x' });
  books = await testNamespace('migrate-books');
  await core.patchNamespace({
    name: books,
    body: [{ op: 'add', path: '/metadata/annotations', value: { 'linkerd.io/inject': 'enabled' } }],
  });
  for (const name of ['web-1', 'web-2']) {
    const pod = podSpec(name);
    pod.spec!.initContainers = [{ name: 'istio-init', image: 'registry.example/proxyv2:1' }];
    pod.spec!.containers.push({ name: 'istio-proxy', image: 'registry.example/proxyv2:1' });
    await core.createNamespacedPod({ namespace: shop, body: pod });
  }
  // Istio's namespace-selected injector, narrowed to this file's namespace (the API server is shared);
  // created after the pods, it is never called here.
  await kc.makeApiClient(AdmissionregistrationV1Api).createMutatingWebhookConfiguration({
    body: {
      metadata: { name: webhookName },
      webhooks: [
        {
          name: 'namespace.sidecar-injector.istio.io',
          namespaceSelector: { matchLabels: { 'istio-injection': 'enabled', [`${selectorKey}-test`]: 'x' } },
          clientConfig: { url: 'https://127.0.0.1:1/inject' },
          rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
          admissionReviewVersions: ['v1'],
          sideEffects: 'None',
          failurePolicy: 'Ignore',
          timeoutSeconds: 1,
        },
      ],
    },
  });
}, 60_000);

afterAll(async () => {
  await kc
    .makeApiClient(AdmissionregistrationV1Api)
    .deleteMutatingWebhookConfiguration({ name: webhookName })
    .catch(() => undefined);
  await requestJson(kc, { method: 'DELETE', path: policyPath(policy) }).catch(() => undefined);
});

describe('sidecar-operator migrate', () => {
  it('plans an Istio namespace: the policy’s label, Istio’s label off, its pods re-created', async () => {
    const { code, plan } = await planFor(shop);
    expect(code).toBe(1);
    expect(plan.problems).toEqual([]);
    expect(plan.namespaces).toEqual([
      {
        namespace: shop,
        meshes: ['Istio'],
        because: ['label istio-injection=enabled', "2 pods carry Istio's sidecar"],
        policyAfter: policy,
        steps: [
          `kubectl label namespace ${shop} ${selectorKey}=ours --overwrite`,
          `kubectl label namespace ${shop} istio-injection-`,
          `kubectl -n ${shop} delete pod web-1`,
          `kubectl -n ${shop} delete pod web-2`,
          `sidecar-operator doctor -n ${shop}`,
        ],
        notes: [],
      },
    ]);
    expect(plan.injectors.find((i) => i.configuration === webhookName)).toMatchObject({
      selectsNow: [shop],
      selectsAfter: [],
    });
    const text = await migrate('-n', shop);
    expect(text.stdout).toContain(`namespace ${shop} (Istio: label istio-injection=enabled; 2 pods`);
    expect(text.stdout).toContain(`  1. kubectl label namespace ${shop} ${selectorKey}=ours --overwrite`);
  });

  it('leaves nothing to move once its kubectl steps ran', async () => {
    for (const ns of [shop, books]) {
      const { plan } = await planFor(ns);
      for (const step of plan.namespaces.flatMap((n) => n.steps))
        if (step.startsWith('kubectl')) await runStep(step);
    }
    for (const ns of [shop, books]) {
      const { code, plan } = await planFor(ns);
      expect(plan.namespaces).toEqual([]);
      expect(code).toBe(0);
    }
    const labelled = await core.readNamespace({ name: books });
    expect(labelled.metadata?.labels?.[selectorKey]).toBe('ours');
    expect(labelled.metadata?.annotations?.['linkerd.io/inject']).toBeUndefined();
    expect((await core.listNamespacedPod({ namespace: shop })).items).toEqual([]);
    const after = await migrate('-n', shop);
    expect(after.stdout).toContain(
      `MutatingWebhookConfiguration ${webhookName} (namespace.sidecar-injector.istio.io): called for none of them now; once nothing else uses it: kubectl delete mutatingwebhookconfiguration ${webhookName}`,
    );
  }, 60_000);

  it('names the problem when the policy asked for does not exist, and runs nothing', async () => {
    const canary = await testNamespace('migrate-canary', { 'istio.io/rev': 'canary' });
    const run = await migrate('-n', canary, '--policy', `absent-${id}`, '-o', 'json');
    expect(run.code).toBe(1);
    const plan = JSON.parse(run.stdout) as MigrationPlan;
    expect(plan.problems).toEqual([
      `no policy governs ${canary}; no SidecarPolicy named absent-${id} (kubectl get sidecarpolicies)`,
    ]);
    expect(plan.namespaces).toMatchObject([{ namespace: canary, steps: [] }]);
  });
});
