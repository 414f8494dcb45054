import { randomBytes } from 'node:crypto';
import {
  AdmissionregistrationV1Api,
  AppsV1Api,
  CoreV1Api,
  type CoreV1Event,
  type V1Deployment,
} from '@kubernetes/client-node';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileTemplate } from '../src/inject/index.js';
import { loadKubeConfig, requestJson } from '../src/kube/index.js';
import { renderInjectorTemplate } from '../src/render/injector-configmap.js';
import {
  createAdmissionEventRecorder,
  WebhookServer,
  watchInjectorTemplates,
  watchServingSecret,
  type SourceWatch,
} from '../src/webhook/index.js';
import { createAuthority, issue } from './envtest/pki.js';
import { envtest, eventually, testNamespace } from './support.js';

/** The init image the operator would pass; fixed, so that a release's version changes no expectation. */
const initImage = 'ghcr.io/sidecar-operator/sidecar-operator:v0.1.0';

const run = randomBytes(3).toString('hex');
const SELECT_LABEL = `webhook-events-test.sidecar.dev/run-${run}`;
const POLICY = `mesh-${run}`;
const MWC_NAME = `sidecar-webhook-events-test-${run}`;
const SECRET = 'webhook-serving';
const INSTANCE = `replica-${run}`;

const template = compileTemplate(
  { metadata: { name: POLICY }, spec: { selector: { namespaces: [] } } },
  { nativeSidecars: true, initImage },
);

const deployment = (name: string, replicas: number, annotations?: Record<string, string>): V1Deployment => ({
  metadata: { name },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name }, ...(annotations ? { annotations } : {}) },
      spec: { containers: [{ name: 'app', image: 'nginx' }] },
    },
  },
});

describe('admission Events, with the real API server calling the webhook', () => {
  const kc = loadKubeConfig({ kubeconfigYaml: envtest().adminKubeconfig });
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const admission = kc.makeApiClient(AdmissionregistrationV1Api);
  const log = pino({ level: 'silent' });
  const registry = new Registry();
  const recorder = createAdmissionEventRecorder(kc, { instance: INSTANCE, registry, log });
  const watches: SourceWatch[] = [];
  let server: WebhookServer;
  let ns: string;

  /** Events the webhook recorded on one object, by reason. */
  const eventsOn = async (kind: string, name: string, reason: string): Promise<CoreV1Event[]> => {
    const list = await requestJson<{ items: CoreV1Event[] }>(kc, {
      path: `/api/v1/namespaces/${ns}/events`,
      query: { fieldSelector: `involvedObject.kind=${kind},involvedObject.name=${name},reason=${reason}` },
    });
    return list.items;
  };

  /** The ReplicaSet the Deployment controller made for `name`. */
  const replicaSetOf = (name: string) =>
    eventually(
      async () => {
        const list = await apps.listNamespacedReplicaSet({ namespace: ns, labelSelector: `app=${name}` });
        return list.items[0];
      },
      { what: `the ReplicaSet of ${name}` },
    );

  beforeAll(async () => {
    const opNs = await testNamespace('wh-events-op');
    ns = await testNamespace('wh-events', { [SELECT_LABEL]: 'on' });
    const ca = await createAuthority(`webhook-events-ca-${run}`);
    const leaf = await issue(ca, { commonName: '127.0.0.1', ipAddresses: ['127.0.0.1'], usage: 'server' });
    await core.createNamespacedSecret({
      namespace: opNs,
      body: {
        metadata: { name: SECRET },
        type: 'kubernetes.io/tls',
        stringData: { 'tls.crt': leaf.certPem, 'tls.key': leaf.keyPem, 'ca.crt': ca.certPem },
      },
    });
    await core.createNamespacedConfigMap({
      namespace: opNs,
      body: renderInjectorTemplate(opNs, template),
    });
    server = new WebhookServer({
      log,
      registry,
      operatorNamespace: opNs,
      host: '127.0.0.1',
      port: 0,
      events: recorder,
      // The test API server calls the webhook without a client certificate (that needs an
      // admission-control kubeconfig), so no caller is authenticated: ask for their Events.
      unauthenticatedEvents: true,
    });
    watches.push(watchInjectorTemplates(kc, opNs, log, (t) => server.setTemplates(t)));
    watches.push(watchServingSecret(kc, opNs, SECRET, log, (m) => server.setCertificate(m)));
    const { port } = await server.start();
    await eventually(() => (server.readiness().ready ? true : undefined), { what: 'webhook ready' });
    await admission.createMutatingWebhookConfiguration({
      body: {
        metadata: { name: MWC_NAME },
        webhooks: [
          {
            name: `inject-${run}.webhook-events-test.sidecar.dev`,
            clientConfig: {
              url: `https://127.0.0.1:${port}/inject/${POLICY}`,
              caBundle: Buffer.from(ca.certPem).toString('base64'),
            },
            rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
            namespaceSelector: { matchLabels: { [SELECT_LABEL]: 'on' } },
            // Fail: a pod created before the API server knows the webhook would be missed silently.
            failurePolicy: 'Fail',
            sideEffects: 'None',
            admissionReviewVersions: ['v1'],
            timeoutSeconds: 10,
            reinvocationPolicy: 'IfNeeded',
          },
        ],
      },
    });
    // Wait until the API server calls the webhook (dry-run: no pod, no Event).
    await eventually(
      async () => {
        const pod = await core.createNamespacedPod({
          namespace: ns,
          dryRun: 'All',
          body: { metadata: { name: 'probe' }, spec: { containers: [{ name: 'app', image: 'nginx' }] } },
        });
        return pod.metadata?.annotations?.['sidecar.dev/status'] ? true : undefined;
      },
      { what: 'the webhook configuration in effect' },
    );
  });

  afterAll(async () => {
    await admission.deleteMutatingWebhookConfiguration({ name: MWC_NAME }).catch(() => undefined);
    await server?.stop();
    await Promise.all([...watches.map((w) => w.stop()), recorder.stop(2000)]);
  });

  it('records Injected on the ReplicaSet, one Event whose count covers its replicas', async () => {
    await apps.createNamespacedDeployment({ namespace: ns, body: deployment('web', 3) });
    const rs = await replicaSetOf('web');
    const event = await eventually(
      async () => {
        const [e] = await eventsOn('ReplicaSet', rs.metadata!.name!, 'Injected');
        return e && e.count === 3 ? e : undefined;
      },
      { what: 'an Injected Event on the ReplicaSet with count 3' },
    );
    expect(await eventsOn('ReplicaSet', rs.metadata!.name!, 'Injected')).toHaveLength(1);
    expect(event).toMatchObject({
      type: 'Normal',
      message: `pod injected with policy ${POLICY} revision ${template.revision}`,
      involvedObject: { kind: 'ReplicaSet', apiVersion: 'apps/v1', uid: rs.metadata!.uid, namespace: ns },
      source: { component: 'sidecar-operator-webhook', host: INSTANCE },
      reportingComponent: 'sidecar-operator-webhook',
      reportingInstance: INSTANCE,
    });
    const pods = await core.listNamespacedPod({ namespace: ns, labelSelector: 'app=web' });
    expect(pods.items).toHaveLength(3);
    for (const p of pods.items) expect(p.metadata?.annotations?.['sidecar.dev/status']).toBeDefined();
    // The re-invocation of an injected pod (AlreadyInjected) is not an Event.
    expect(await eventsOn('ReplicaSet', rs.metadata!.name!, 'InjectionSkipped')).toEqual([]);
  });

  it('records InjectionSkipped with reason OptedOut on the owner of an opted-out pod', async () => {
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: deployment('legacy', 1, { 'sidecar.dev/inject': 'false' }),
    });
    const rs = await replicaSetOf('legacy');
    const [event] = await eventually(
      async () => {
        const list = await eventsOn('ReplicaSet', rs.metadata!.name!, 'InjectionSkipped');
        return list.length > 0 ? list : undefined;
      },
      { what: 'an InjectionSkipped Event on the ReplicaSet' },
    );
    expect(event?.type).toBe('Normal');
    expect(event?.message).toBe(
      `OptedOut: pod opted out with annotation sidecar.dev/inject=false (policy ${POLICY})`,
    );
    expect(event?.involvedObject.uid).toBe(rs.metadata!.uid);
    expect(await eventsOn('ReplicaSet', rs.metadata!.name!, 'Injected')).toEqual([]);
  });

  it('records on a bare pod with a name, on itself; none for a dry run', async () => {
    await core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'solo', labels: { 'sidecar.dev/inject': 'false' } },
        spec: { containers: [{ name: 'app', image: 'nginx' }] },
      },
    });
    const [event] = await eventually(
      async () => {
        const list = await eventsOn('Pod', 'solo', 'InjectionSkipped');
        return list.length > 0 ? list : undefined;
      },
      { what: 'an InjectionSkipped Event on the pod' },
    );
    expect(event?.message).toMatch(/^OptedOut: pod opted out with label sidecar.dev\/inject=false/);
    await recorder.idle();
    expect(await eventsOn('Pod', 'probe', 'Injected')).toEqual([]);
    const metrics = await registry.metrics();
    expect(metrics).toMatch(
      /sidecar_events_writes_total\{component="sidecar-operator-webhook",verb="create",result="ok"\} [3-9]/,
    );
    expect(metrics).not.toMatch(/sidecar_events_dropped_total\{[^}]*\} [1-9]/);
  });
});
