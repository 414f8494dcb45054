import fc from 'fast-check';
import jsonpatch from 'fast-json-patch';
import { describe, expect, it } from 'vitest';
import { compileTemplate, injectPod, type Pod } from './index.js';
import { uninjectPod } from './uninject.js';

const initImage = 'ghcr.io/sidecar-operator/sidecar-operator:v0.1.0';
const ctx = { namespace: 'apps', operatorNamespace: 'sidecar-system' };
const templates = [true, false].flatMap((nativeSidecars) =>
  [true, false].map((hold) =>
    compileTemplate(
      {
        metadata: { name: 'mesh' },
        spec: {
          selector: { namespaces: ['apps'] },
          injection: { holdApplicationUntilProxyStarts: hold },
        },
      },
      { nativeSidecars, initImage },
    ),
  ),
);

const apply = (pod: Pod, patch: unknown): Pod =>
  jsonpatch.applyPatch(structuredClone(pod), patch as jsonpatch.Operation[], true, false).newDocument;

/** A pod as Istio's injector leaves it (written by hand, after what its injector does). */
const istioPod = (): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: 'reviews',
    labels: {
      app: 'reviews',
      'security.istio.io/tlsMode': 'istio',
      'service.istio.io/canonical-name': 'reviews',
    },
    annotations: {
      'team.example/owner': 'books',
      'istio.io/rev': 'default',
      'kubectl.kubernetes.io/default-container': 'reviews',
      'prometheus.io/path': '/stats/prometheus',
      'prometheus.io/port': '15020',
      'prometheus.io/scrape': 'true',
      'sidecar.istio.io/status': JSON.stringify({
        initContainers: ['istio-init'],
        containers: ['istio-proxy'],
        volumes: ['istio-envoy', 'istio-token'],
        imagePullSecrets: ['istio-pull'],
        revision: 'default',
      }),
    },
  },
  spec: {
    imagePullSecrets: [{ name: 'app-pull' }, { name: 'istio-pull' }],
    initContainers: [
      { name: 'migrate', image: 'registry.example/migrate:1' },
      { name: 'istio-init', image: 'docker.io/istio/proxyv2:1.27.0' },
    ],
    containers: [
      {
        name: 'istio-proxy',
        image: 'docker.io/istio/proxyv2:1.27.0',
        env: [
          {
            name: 'ISTIO_KUBE_APP_PROBERS',
            value: JSON.stringify({
              '/app-health/reviews/readyz': { httpGet: { path: '/ready', port: 9080, scheme: 'HTTPS' } },
              '/app-health/reviews/livez': { tcpSocket: { port: 9080 }, timeoutSeconds: 3 },
              '/app-lifecycle/reviews/prestopz': { httpGet: { path: '/drain', port: 9080 } },
            }),
          },
          {
            name: 'ISTIO_PROMETHEUS_ANNOTATIONS',
            value: '{"scrape":"true","path":"/metrics","port":"9090"}',
          },
        ],
      },
      {
        name: 'reviews',
        image: 'registry.example/reviews:1',
        readinessProbe: { httpGet: { path: '/app-health/reviews/readyz', port: 15020 }, periodSeconds: 5 },
        livenessProbe: { httpGet: { path: '/app-health/reviews/livez', port: 15020 }, timeoutSeconds: 1 },
        startupProbe: { exec: { command: ['true'] } },
        lifecycle: { preStop: { httpGet: { path: '/app-lifecycle/reviews/prestopz', port: 15020 } } },
      },
    ],
    volumes: [
      { name: 'data', emptyDir: {} },
      { name: 'istio-envoy', emptyDir: { medium: 'Memory' } },
      { name: 'istio-token', projected: {} },
    ],
  },
});

describe('uninjectPod', () => {
  it('removes Istio’s sidecar and puts back the probes, hooks and annotations it rewrote', () => {
    const input = istioPod();
    const copy = structuredClone(input);
    const { pod, patch, removed } = uninjectPod(input);
    expect(input, 'the input is not modified').toEqual(copy);
    expect(removed).toEqual(['Istio (istio-init, istio-proxy)']);
    expect(pod).toEqual({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'reviews',
        // Istio adds canonical-name only when absent: it may be the author's, so it stays.
        labels: { app: 'reviews', 'service.istio.io/canonical-name': 'reviews' },
        annotations: {
          'team.example/owner': 'books',
          'kubectl.kubernetes.io/default-container': 'reviews',
          'prometheus.io/path': '/metrics',
          'prometheus.io/port': '9090',
          'prometheus.io/scrape': 'true',
        },
      },
      spec: {
        imagePullSecrets: [{ name: 'app-pull' }],
        initContainers: [{ name: 'migrate', image: 'registry.example/migrate:1' }],
        containers: [
          {
            name: 'reviews',
            image: 'registry.example/reviews:1',
            readinessProbe: { httpGet: { path: '/ready', port: 9080, scheme: 'HTTPS' }, periodSeconds: 5 },
            livenessProbe: { tcpSocket: { port: 9080 }, timeoutSeconds: 3 },
            startupProbe: { exec: { command: ['true'] } },
            lifecycle: { preStop: { httpGet: { path: '/drain', port: 9080 } } },
          },
        ],
        volumes: [{ name: 'data', emptyDir: {} }],
      },
    });
    expect(apply(input, patch)).toEqual(pod);
  });

  it('drops the Prometheus annotations Istio merged when the app had none, and empty lists and maps', () => {
    const input = istioPod();
    const proxy = input.spec!.containers[0]!;
    proxy.env = (proxy.env as { name: string }[]).filter((e) => e.name !== 'ISTIO_PROMETHEUS_ANNOTATIONS');
    input.metadata!.annotations = Object.fromEntries(
      Object.entries(input.metadata!.annotations!).filter(
        ([k]) => k !== 'team.example/owner' && !k.startsWith('kubectl'),
      ),
    );
    input.metadata!.labels = { 'security.istio.io/tlsMode': 'istio' };
    input.spec!.initContainers = input.spec!.initContainers!.slice(1);
    const { pod, patch } = uninjectPod(input);
    expect(pod.metadata).toEqual({ name: 'reviews' });
    expect(pod.spec?.initContainers).toBeUndefined();
    expect(apply(input, patch)).toEqual(pod);
  });

  it('finds Istio’s containers by name when its status annotation is gone', () => {
    const input = istioPod();
    delete input.metadata!.annotations!['sidecar.istio.io/status'];
    const { pod, removed } = uninjectPod(input);
    expect(removed).toEqual(['Istio (istio-init, istio-proxy)']);
    expect(pod.spec?.containers.map((c) => c.name)).toEqual(['reviews']);
    // Without the status, volumes are not known to be Istio's: they stay.
    expect(pod.spec?.volumes?.map((v) => v.name)).toEqual(['data', 'istio-envoy', 'istio-token']);
  });

  it('keeps an app container Istio’s status names (its template changed it), without the mounts of removed volumes', () => {
    const grpc: Pod = {
      metadata: {
        name: 'grpc',
        annotations: {
          'sidecar.istio.io/status': JSON.stringify({
            initContainers: ['grpc-bootstrap-init'],
            containers: ['traffic'],
            volumes: ['grpc-bootstrap'],
          }),
        },
      },
      spec: {
        initContainers: [
          { name: 'grpc-bootstrap-init', volumeMounts: [{ name: 'grpc-bootstrap', mountPath: '/b' }] },
        ],
        containers: [
          {
            name: 'traffic',
            volumeMounts: [
              { name: 'data', mountPath: '/data' },
              { name: 'grpc-bootstrap', mountPath: '/b' },
            ],
          },
        ],
        volumes: [
          { name: 'data', emptyDir: {} },
          { name: 'grpc-bootstrap', emptyDir: {} },
        ],
      },
    };
    const { pod, patch, removed } = uninjectPod(grpc);
    expect(removed).toEqual(['Istio (grpc-bootstrap-init)']);
    expect(pod).toEqual({
      metadata: { name: 'grpc' },
      spec: {
        containers: [{ name: 'traffic', volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
        volumes: [{ name: 'data', emptyDir: {} }],
      },
    });
    expect(apply(grpc, patch)).toEqual(pod);
  });

  it('leaves an Istio gateway alone: its proxy is the workload, not a sidecar', () => {
    const gateway: Pod = {
      metadata: { name: 'gw' },
      spec: { containers: [{ name: 'istio-proxy', image: 'auto' }] },
    };
    expect(uninjectPod(gateway)).toEqual({
      pod: gateway,
      patch: [],
      removed: [],
      kept: 'its only containers are the proxy’s (a gateway, not a sidecar)',
    });
  });

  it.each([
    ['alt_cni, default/istio-cni', 'alt_cni'],
    ['default/istio-cni', undefined],
    ['[{"name": "alt_cni"}, {"name": "istio-cni", "namespace": "default"}]', '[{"name": "alt_cni"}]'],
    ['[{"name":"istio-cni"}]', undefined],
    ['alt_cni', 'alt_cni'],
  ])('takes Istio’s CNI attachment out of the Multus networks %s', (networks, left) => {
    const input = istioPod();
    input.metadata!.annotations!['k8s.v1.cni.cncf.io/networks'] = networks;
    const { pod, patch } = uninjectPod(input);
    expect(pod.metadata?.annotations?.['k8s.v1.cni.cncf.io/networks']).toBe(left);
    expect(apply(input, patch)).toEqual(pod);
  });

  it('keeps a TLS-mode label that is not Istio’s own value', () => {
    const input = istioPod();
    input.metadata!.labels!['security.istio.io/tlsMode'] = 'disabled';
    expect(uninjectPod(input).pod.metadata?.labels?.['security.istio.io/tlsMode']).toBe('disabled');
  });

  it('leaves a pod without sidecars as it is', () => {
    const plain: Pod = { metadata: { name: 'p' }, spec: { containers: [{ name: 'app' }] } };
    expect(uninjectPod(plain)).toEqual({ pod: plain, patch: [], removed: [] });
  });

  it('undoes our injection, in every mode, back to the pod (property)', () => {
    const name = fc.stringMatching(/^app-[a-z0-9]{1,6}$/);
    const pod = fc.record({
      metadata: fc.record(
        {
          name,
          labels: fc.dictionary(fc.constantFrom('app', 'tier', 'x.example/y'), fc.string({ maxLength: 5 })),
          annotations: fc.dictionary(fc.constantFrom('a', 'b.example/c'), fc.string({ maxLength: 5 })),
        },
        { requiredKeys: [] },
      ),
      spec: fc.record(
        {
          containers: fc.uniqueArray(fc.record({ name, image: fc.constant('x') }), {
            minLength: 1,
            maxLength: 3,
            selector: (c) => c.name,
          }),
          initContainers: fc.uniqueArray(fc.record({ name: name.map((n) => `init-${n}`) }), {
            maxLength: 2,
            selector: (c) => c.name,
          }),
          volumes: fc.uniqueArray(fc.record({ name: name.map((n) => `vol-${n}`) }), {
            maxLength: 2,
            selector: (c) => c.name,
          }),
        },
        { requiredKeys: ['containers'] },
      ),
    });
    fc.assert(
      fc.property(pod, fc.constantFrom(...templates), (p, template) => {
        const injected = injectPod(p, template, ctx).pod;
        const { pod: back, removed } = uninjectPod(injected);
        expect(removed).toEqual([
          `sidecar-operator (${template.initContainer ? 'sidecar-init, ' : ''}sidecar-proxy)`,
        ]);
        const expected = structuredClone(p) as Pod;
        const added = injected.metadata?.annotations?.['kubectl.kubernetes.io/default-container'];
        if (
          added !== undefined &&
          p.metadata?.annotations?.['kubectl.kubernetes.io/default-container'] === undefined
        )
          expected.metadata = {
            ...expected.metadata,
            annotations: {
              ...expected.metadata?.annotations,
              'kubectl.kubernetes.io/default-container': added,
            },
          };
        for (const m of ['labels', 'annotations'] as const)
          if (expected.metadata?.[m] !== undefined && Object.keys(expected.metadata[m]).length === 0)
            delete expected.metadata[m];
        for (const l of ['initContainers', 'volumes'] as const)
          if (expected.spec?.[l]?.length === 0) delete expected.spec[l];
        expect(back).toEqual(expected);
      }),
      { numRuns: 200 },
    );
  });
});
