import { AdmissionregistrationV1Api, CoreV1Api, type V1Secret } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCA, issueServingCertificate, serviceHosts, type KeyPairPem } from '../src/certs/authority.js';
import { EXPIRY_METRIC } from '../src/certs/index.js';
import { policyPath } from '../src/api/index.js';
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
import { failClosedSpec, fingerprintOf, secretEvents, servedFingerprint } from './certs-support.js';
import { eventually, testNamespace } from './support.js';

// No cert-manager runs offline: the test plays its part. cert-manager writes the Certificate's
// Secret (tls.crt, tls.key, ca.crt); its cainjector copies ca.crt into every caBundle of objects
// annotated cert-manager.io/inject-ca-from, as its own field manager.
const kc = admin();
const core = kc.makeApiClient(CoreV1Api);
const admission = kc.makeApiClient(AdmissionregistrationV1Api);
const id = shortId();
const policy = `certs-${id}-cm`;
const SECRET = 'webhook-cert-tls';
const CERTIFICATE = 'webhook-cert';
const CAINJECTOR = 'cert-manager-cainjector';
let opNs: string;
let ns: string;
let ca: KeyPairPem;
let operator: OperatorHandle;

cleanupWebhooksAfterAll(kc, () => [policy]);

const b64 = (s: string): string => Buffer.from(s).toString('base64');

async function certManagerSecret(): Promise<V1Secret> {
  const leaf = await issueServingCertificate({
    ca,
    hosts: serviceHosts({ service: 'sidecar-operator', namespace: opNs, extraHosts: ['127.0.0.1'] }),
    now: new Date(),
    lifetimeMs: 3_600_000,
  });
  return {
    metadata: {
      name: SECRET,
      namespace: opNs,
      annotations: { 'cert-manager.io/certificate-name': CERTIFICATE },
    },
    type: 'kubernetes.io/tls',
    data: { 'tls.crt': b64(leaf.certPem), 'tls.key': b64(leaf.keyPem), 'ca.crt': b64(ca.certPem) },
  };
}

beforeAll(async () => {
  opNs = await testNamespace('certs-cm-op');
  ns = await testNamespace('certs-cm');
  ca = await createCA({ generation: 1, now: new Date(), lifetimeMs: 86_400_000 });
  await core.createNamespacedSecret({ namespace: opNs, body: await certManagerSecret() });
  operator = await startTestOperator(opNs, id, {
    leaderElect: false,
    certSource: 'cert-manager',
    secretName: SECRET,
    certManagerCertificate: CERTIFICATE,
  });
});

afterAll(async () => {
  try {
    await deletePolicies(kc, [policy]);
  } finally {
    await operator?.stop();
  }
});

describe('cert-manager as the certificate source', () => {
  it('annotates the webhook configuration for cainjector, leaves caBundle to it and issues nothing', async () => {
    const secretBefore = await core.readNamespacedSecret({ name: SECRET, namespace: opNs });
    await createPolicy(kc, policy, id, failClosedSpec(ns));
    const mwc = await eventually(
      async () => admission.readMutatingWebhookConfiguration({ name: policy }).catch(() => undefined),
      { what: 'the webhook configuration' },
    );
    expect(mwc.metadata?.annotations?.['cert-manager.io/inject-ca-from']).toBe(`${opNs}/${CERTIFICATE}`);
    expect(mwc.webhooks?.[0]?.clientConfig.caBundle).toBeUndefined();
    const waiting = await eventually(
      async () => {
        const c = condition(await getPolicy(kc, policy), 'CertificateReady');
        return c?.reason === 'BundleNotDistributed' ? c : undefined;
      },
      { what: 'CertificateReady waiting for the bundle' },
    );
    expect(waiting.status).toBe('False');
    expect(condition(await getPolicy(kc, policy), 'Ready')?.status).toBe('False');

    // cainjector's part.
    await requestJson(kc, {
      method: 'PATCH',
      path: `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${policy}`,
      query: { fieldManager: CAINJECTOR },
      contentType: 'application/json-patch+json',
      body: [{ op: 'add', path: '/webhooks/0/clientConfig/caBundle', value: b64(ca.certPem) }],
    });
    const ready = condition(await waitReady(kc, policy), 'CertificateReady');
    expect(ready).toMatchObject({ status: 'True', reason: 'CertificateValid' });
    expect(ready?.message).toMatch(/^expires /);
    await createInjectedPod(kc, ns, podSpec('first'));

    const secretAfter = await core.readNamespacedSecret({ name: SECRET, namespace: opNs });
    expect(secretAfter.metadata?.resourceVersion).toBe(secretBefore.metadata?.resourceVersion);
    expect(secretAfter.data?.['ca-bundle.crt']).toBeUndefined();
    expect(await secretEvents(kc, opNs, SECRET)).toEqual([]);
    const others = await core.listNamespacedSecret({ namespace: opNs });
    expect(others.items.map((s) => s.metadata?.name)).not.toContain('sidecar-operator-certs');
  });

  it("keeps cainjector's caBundle when it re-applies the webhook configuration", async () => {
    await requestJson(kc, {
      method: 'PATCH',
      path: policyPath(policy),
      contentType: 'application/merge-patch+json',
      body: { spec: { injection: { timeoutSeconds: 7 } } },
    });
    const mwc = await eventually(
      async () => {
        const m = await admission.readMutatingWebhookConfiguration({ name: policy });
        return m.webhooks?.[0]?.timeoutSeconds === 7 ? m : undefined;
      },
      { what: 'the re-applied webhook configuration' },
    );
    expect(mwc.webhooks?.[0]?.clientConfig.caBundle).toBe(b64(ca.certPem));
    const owners = (mwc.metadata?.managedFields ?? []).map((f) => ({
      manager: f.manager,
      caBundle: JSON.stringify(f.fieldsV1 ?? {}).includes('f:caBundle'),
    }));
    expect(owners).toContainEqual({ manager: CAINJECTOR, caBundle: true });
    expect(owners).toContainEqual({ manager: 'sidecar-operator', caBundle: false });
    await waitReady(kc, policy);
  });

  it('serves the certificate cert-manager renews, on every replica, without a restart', async () => {
    const renewed = await certManagerSecret();
    await core.replaceNamespacedSecret({ name: SECRET, namespace: opNs, body: renewed });
    const want = fingerprintOf(Buffer.from(renewed.data!['tls.crt']!, 'base64').toString());
    await eventually(
      async () => ((await servedFingerprint(operator.webhookPort)) === want ? true : undefined),
      {
        what: 'the renewed certificate served',
        timeoutMs: 5000,
      },
    );
    await createInjectedPod(kc, ns, podSpec('renewed'));
    const m = await operator.registry.getSingleMetric(EXPIRY_METRIC)?.get();
    const leaf = m?.values.find((v) => v.labels.kind === 'leaf')?.value ?? 0;
    expect(leaf).toBeGreaterThan(3500);
    expect(leaf).toBeLessThanOrEqual(3600);
    expect(m?.values.find((v) => v.labels.kind === 'ca')?.value).toBeGreaterThan(86_000);
  });
});
