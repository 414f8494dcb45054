import { randomBytes, X509Certificate } from 'node:crypto';
import { request } from 'node:https';
import { connect } from 'node:tls';
import {
  AdmissionregistrationV1Api,
  CoreV1Api,
  type V1MutatingWebhookConfiguration,
  type V1Pod,
} from '@kubernetes/client-node';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileTemplate, type CompiledTemplate } from '../src/inject/index.js';
import { loadKubeConfig } from '../src/kube/index.js';
import { renderInjectorTemplate } from '../src/render/injector-configmap.js';
import {
  WebhookServer,
  watchInjectorTemplates,
  watchServingSecret,
  type SourceWatch,
} from '../src/webhook/index.js';
import { createAuthority, issue, type Authority, type KeyPair } from './envtest/pki.js';
import { envtest, eventually, testNamespace } from './support.js';

/** The init image the operator would pass; fixed, so that a release's version changes no expectation. */
const initImage = 'ghcr.io/sidecar-operator/sidecar-operator:v0.1.0';

const run = randomBytes(3).toString('hex');
/** The only label the webhook's namespaceSelector matches: no other test file's pods reach it. */
const SELECT_LABEL = `webhook-test.sidecar.dev/run-${run}`;
const POLICY = `mesh-${run}`;
const MWC_NAME = `sidecar-webhook-test-${run}`;
const SECRET = 'webhook-serving';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

function templateFor(image?: string): CompiledTemplate {
  return compileTemplate(
    {
      metadata: { name: POLICY },
      spec: { selector: { namespaces: [] }, ...(image ? { proxy: { image } } : {}) },
    },
    { nativeSidecars: true, initImage },
  );
}

const appPod = (extra: Partial<V1Pod['spec']> = {}, annotations?: Record<string, string>): V1Pod => ({
  metadata: { generateName: 'app-', labels: { app: 'web' }, ...(annotations ? { annotations } : {}) },
  spec: { containers: [{ name: 'app', image: 'nginx' }], ...extra },
});

const sidecarStatus = (pod: V1Pod): { revision: string } | undefined => {
  const raw = pod.metadata?.annotations?.['sidecar.dev/status'];
  return raw === undefined ? undefined : (JSON.parse(raw) as { revision: string });
};

interface Reply {
  status: number;
  body: string;
}

/** POSTs straight to the webhook, as a misbehaving client would. */
function post(port: number, ca: string, body: string | Buffer, type = 'application/json'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        ca,
        path: `/inject/${POLICY}`,
        method: 'POST',
        headers: { 'content-type': type },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The fingerprint of the certificate the server presents to a new connection. */
function servedFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      resolve(s.getPeerCertificate().fingerprint256);
      s.end();
    });
    s.on('error', reject);
  });
}

const fingerprintOf = (pem: string): string => new X509Certificate(pem).fingerprint256;

describe('admission webhook called by the real API server', () => {
  const kc = loadKubeConfig({ kubeconfigYaml: envtest().adminKubeconfig });
  const core = kc.makeApiClient(CoreV1Api);
  const admission = kc.makeApiClient(AdmissionregistrationV1Api);
  const logs: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
  const registry = new Registry();
  let server: WebhookServer;
  let port: number;
  let opNs: string;
  let selectedNs: string;
  let otherNs: string;
  let ca: Authority;
  let trusted: string;
  const watches: SourceWatch[] = [];

  const servingSecret = (pair: KeyPair, caPem: string) => ({
    metadata: { name: SECRET },
    type: 'kubernetes.io/tls',
    stringData: { 'tls.crt': pair.certPem, 'tls.key': pair.keyPem, 'ca.crt': caPem },
  });

  const writeConfigMap = async (template: CompiledTemplate): Promise<void> => {
    const cm = renderInjectorTemplate(opNs, template);
    await core
      .replaceNamespacedConfigMap({ name: cm.metadata!.name!, namespace: opNs, body: cm })
      .catch(() => core.createNamespacedConfigMap({ namespace: opNs, body: cm }));
  };

  const writeWebhook = async (caBundle: string, failurePolicy: 'Fail' | 'Ignore'): Promise<void> => {
    const body: V1MutatingWebhookConfiguration = {
      metadata: { name: MWC_NAME },
      webhooks: [
        {
          name: `inject-${run}.webhook-test.sidecar.dev`,
          clientConfig: { url: `https://127.0.0.1:${port}/inject/${POLICY}`, caBundle: b64(caBundle) },
          rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
          namespaceSelector: { matchLabels: { [SELECT_LABEL]: 'on' } },
          failurePolicy,
          sideEffects: 'None',
          admissionReviewVersions: ['v1'],
          timeoutSeconds: 10,
          reinvocationPolicy: 'IfNeeded',
        },
      ],
    };
    const current = await admission
      .readMutatingWebhookConfiguration({ name: MWC_NAME })
      .catch(() => undefined);
    if (current) {
      body.metadata!.resourceVersion = current.metadata?.resourceVersion;
      await admission.replaceMutatingWebhookConfiguration({ name: MWC_NAME, body });
    } else {
      await admission.createMutatingWebhookConfiguration({ body });
    }
  };

  const createPod = (namespace: string, pod: V1Pod = appPod()): Promise<V1Pod> =>
    core.createNamespacedPod({ namespace, body: pod });

  beforeAll(async () => {
    opNs = await testNamespace('webhook-op');
    selectedNs = await testNamespace('webhook-in', { [SELECT_LABEL]: 'on' });
    otherNs = await testNamespace('webhook-out');
    ca = await createAuthority(`webhook-test-ca-${run}`);
    trusted = ca.certPem;
    const leaf = await issue(ca, { commonName: '127.0.0.1', ipAddresses: ['127.0.0.1'], usage: 'server' });
    await core.createNamespacedSecret({ namespace: opNs, body: servingSecret(leaf, ca.certPem) });
    await writeConfigMap(templateFor());

    server = new WebhookServer({ log, registry, operatorNamespace: opNs, host: '127.0.0.1', port: 0 });
    watches.push(watchInjectorTemplates(kc, opNs, log, (t) => server.setTemplates(t)));
    watches.push(watchServingSecret(kc, opNs, SECRET, log, (m) => server.setCertificate(m)));
    ({ port } = await server.start());
    await eventually(() => (server.readiness().ready ? true : undefined), { what: 'webhook ready' });
    await writeWebhook(ca.certPem, 'Ignore');
  });

  afterAll(async () => {
    await admission.deleteMutatingWebhookConfiguration({ name: MWC_NAME }).catch(() => undefined);
    await Promise.all(watches.map((w) => w.stop()));
    await server?.stop();
  });

  it('injects a pod created in a selected namespace', async () => {
    // The API server picks the new webhook configuration up within a moment; until then pods pass.
    const pod = await eventually(
      async () => {
        const p = await createPod(selectedNs);
        return sidecarStatus(p) ? p : undefined;
      },
      { what: 'an injected pod' },
    );
    const read = await core.readNamespacedPod({ name: pod.metadata!.name!, namespace: selectedNs });
    expect(read.spec?.initContainers?.map((c) => c.name)).toEqual(['sidecar-init', 'sidecar-proxy']);
    expect(read.spec?.initContainers?.[1]?.restartPolicy).toBe('Always');
    expect(read.spec?.containers.map((c) => c.name)).toEqual(['app']);
    expect(read.spec?.volumes?.map((v) => v.name)).toContain('sidecar-config');
    expect(sidecarStatus(read)?.revision).toBe(templateFor().revision);
    expect(read.metadata?.labels?.['sidecar.dev/revision']).toBe(templateFor().revision);

    const entry = logs.find((l) => l.pod === 'app-' && l.result === 'injected');
    expect(entry).toMatchObject({ namespace: selectedNs, policy: POLICY, reason: 'Injected' });
    expect(typeof entry?.uid).toBe('string');
    expect(typeof entry?.durationMs).toBe('number');
  });

  it('leaves untouched a pod elsewhere, an opted-out pod and a hostNetwork pod', async () => {
    const elsewhere = await createPod(otherNs);
    const optedOut = await createPod(selectedNs, appPod({}, { 'sidecar.dev/inject': 'false' }));
    const hostNet = await createPod(selectedNs, appPod({ hostNetwork: true }));
    for (const pod of [elsewhere, optedOut, hostNet]) {
      expect(sidecarStatus(pod)).toBeUndefined();
      expect(pod.spec?.initContainers ?? []).toEqual([]);
      expect(pod.spec?.containers.map((c) => c.name)).toEqual(['app']);
    }
    const reasons = logs.filter((l) => l.result === 'skipped').map((l) => l.reason);
    expect(reasons).toEqual(expect.arrayContaining(['OptedOut', 'HostNetwork']));
    // The pod in the unselected namespace never reached the webhook.
    expect(logs.some((l) => l.namespace === otherNs)).toBe(false);
  });

  it('injects a pod that claims an injection it does not have, and refuses one running as the proxy', async () => {
    const revision = templateFor().revision;
    const claim = JSON.stringify({
      policy: POLICY,
      revision,
      initContainers: ['sidecar-init', 'sidecar-proxy'],
      containers: [],
      volumes: ['sidecar-config'],
    });
    const forged = appPod({}, { 'sidecar.dev/status': claim });
    forged.metadata!.labels = { ...forged.metadata!.labels, 'sidecar.dev/revision': revision };
    const pod = await createPod(selectedNs, forged);
    expect(pod.spec?.initContainers?.map((c) => c.name)).toEqual(['sidecar-init', 'sidecar-proxy']);
    expect(sidecarStatus(pod)?.revision).toBe(revision);
    const entry = logs.find(
      (l) => l.pod === 'app-' && typeof l.msg === 'string' && l.msg.includes('no sidecar containers'),
    );
    expect(entry).toMatchObject({ result: 'injected', reason: 'Injected' });

    const asProxy = appPod({
      containers: [{ name: 'app', image: 'nginx', securityContext: { runAsUser: 1337 } }],
    });
    // failurePolicy is Ignore here: a denial is an answer, not a failure, so the pod is still refused.
    await expect(createPod(selectedNs, asProxy)).rejects.toThrow(
      /denied the request: sidecar injector: pod refused: container app runs as UID 1337, the sidecar proxy’s own/,
    );
  });

  it('leaves a pod that already carries Istio’s sidecar with one mesh', async () => {
    const meshed = await createPod(
      selectedNs,
      appPod({
        initContainers: [{ name: 'istio-init', image: 'docker.io/istio/proxyv2:1.27.0' }],
        containers: [
          { name: 'app', image: 'nginx' },
          { name: 'istio-proxy', image: 'docker.io/istio/proxyv2:1.27.0' },
        ],
      }),
    );
    expect(sidecarStatus(meshed)).toBeUndefined();
    expect(meshed.spec?.initContainers?.map((c) => c.name)).toEqual(['istio-init']);
    expect(meshed.spec?.containers.map((c) => c.name)).toEqual(['app', 'istio-proxy']);
    const entry = logs.find((l) => l.pod === 'app-' && l.reason === 'AlreadyMeshed');
    expect(entry).toMatchObject({ namespace: selectedNs, result: 'skipped' });
  });

  it('serves a changed ConfigMap to the next pod without a restart', async () => {
    const next = templateFor('registry.example/proxy:v2');
    expect(next.revision).not.toBe(templateFor().revision);
    await writeConfigMap(next);
    const pod = await eventually(
      async () => {
        const p = await createPod(selectedNs);
        return sidecarStatus(p)?.revision === next.revision ? p : undefined;
      },
      { what: 'a pod injected with the new revision' },
    );
    const proxy = pod.spec?.initContainers?.find((c) => c.name === 'sidecar-proxy');
    expect(proxy?.image).toBe('registry.example/proxy:v2');
  });

  it('rotates its key pair to a new CA while pods keep being created, with no failed creation', async () => {
    const ca2 = await createAuthority(`webhook-test-ca2-${run}`);
    const leaf2 = await issue(ca2, { commonName: '127.0.0.1', ipAddresses: ['127.0.0.1'], usage: 'server' });
    // Fail from here on: a broken handshake would now fail a creation instead of passing silently.
    await writeWebhook(ca.certPem, 'Fail');
    await new Promise((r) => setTimeout(r, 1500));

    let running = true;
    let created = 0;
    let uninjected = 0;
    const failures: string[] = [];
    const createdAfterSwap: string[] = [];
    let swapped = false;
    const loop = async (): Promise<void> => {
      while (running) {
        try {
          const pod = await createPod(selectedNs);
          created++;
          if (!sidecarStatus(pod)) uninjected++;
          if (swapped) createdAfterSwap.push(pod.metadata!.name!);
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
    };
    const loops = [loop(), loop()];
    const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

    await pause(1000);
    await writeWebhook(ca.certPem + ca2.certPem, 'Fail');
    await pause(2000);
    await core.replaceNamespacedSecret({
      name: SECRET,
      namespace: opNs,
      body: servingSecret(leaf2, ca2.certPem),
    });
    const want = fingerprintOf(leaf2.certPem);
    await eventually(async () => ((await servedFingerprint(port)) === want ? true : undefined), {
      what: 'the new certificate served',
    });
    await pause(1500);
    await writeWebhook(ca2.certPem, 'Fail');
    swapped = true;
    await pause(2500);
    running = false;
    await Promise.all(loops);
    trusted = ca2.certPem;

    expect(failures).toEqual([]);
    expect(uninjected).toBe(0);
    expect(created).toBeGreaterThanOrEqual(20);
    expect(createdAfterSwap.length).toBeGreaterThan(0);
    await writeWebhook(ca2.certPem, 'Ignore');
  });

  it('answers malformed requests with 400 or 413 only, and keeps serving', async () => {
    const review = (request: Record<string, unknown> | undefined, kind = 'AdmissionReview') =>
      JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind, request });
    const valid = {
      uid: 'robust-1',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      operation: 'CREATE',
      namespace: selectedNs,
      object: appPod(),
    };
    const many = {
      ...valid,
      uid: 'robust-500',
      object: {
        metadata: { name: 'wide' },
        spec: { containers: Array.from({ length: 500 }, (_, i) => ({ name: `c${i}`, image: 'nginx' })) },
      },
    };
    const cases: [string, string | Buffer, string, number][] = [
      ['truncated JSON', review(valid).slice(0, 120), 'application/json', 400],
      ['wrong kind', review(valid, 'Pod'), 'application/json', 400],
      ['missing uid', review({ ...valid, uid: undefined }), 'application/json', 400],
      ['10 MiB body', Buffer.alloc(10 * 1024 * 1024, 0x20), 'application/json', 413],
      ['non-JSON content type', review(valid), 'text/plain', 400],
      ['binary garbage', randomBytes(4096), 'application/json', 400],
      ['pod with 500 containers', review(many), 'application/json', 200],
    ];
    for (const [what, body, type, status] of cases) {
      const reply = await post(port, trusted, body, type);
      expect(reply.status, what).toBe(status);
      expect([200, 400, 413]).toContain(reply.status);
    }
    const wide = JSON.parse((await post(port, trusted, review(many))).body);
    expect(wide.response).toMatchObject({ uid: 'robust-500', allowed: true, patchType: 'JSONPatch' });

    const ok = JSON.parse((await post(port, trusted, review(valid))).body);
    expect(ok.response).toMatchObject({ uid: 'robust-1', allowed: true, patchType: 'JSONPatch' });
    const pod = await createPod(selectedNs);
    expect(sidecarStatus(pod)).toBeDefined();
    const metrics = await registry.metrics();
    expect(metrics).toMatch(
      /sidecar_webhook_admission_requests_total\{result="invalid",reason="PayloadTooLarge"\} 1/,
    );
    expect(metrics).toMatch(new RegExp(`sidecar_webhook_injected_pods_total\\{policy="${POLICY}"\\} \\d+`));
  });
});
