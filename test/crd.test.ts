import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type V1Deployment,
  type V1Service,
} from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import {
  GROUP,
  PLURAL,
  VERSION,
  withDefaults,
  type SidecarPolicy,
  type SidecarPolicySpec,
} from '../src/api/index.js';
import { adminKubeConfig, envtest, testNamespace } from './support.js';

const run = promisify(execFile);
const examples = join(import.meta.dirname, '..', 'examples');
const suffix = randomBytes(3).toString('hex');
const api = adminKubeConfig().makeApiClient(CustomObjectsApi);
const created = new Set<string>();

afterAll(async () => {
  for (const name of created) {
    await api
      .deleteClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, name })
      .catch(() => undefined);
  }
});

async function createPolicy(name: string, spec: unknown): Promise<SidecarPolicy> {
  const body = { apiVersion: `${GROUP}/${VERSION}`, kind: 'SidecarPolicy', metadata: { name }, spec };
  const out = (await api.createClusterCustomObject({
    group: GROUP,
    version: VERSION,
    plural: PLURAL,
    body,
  })) as SidecarPolicy;
  created.add(name);
  return out;
}

async function getPolicy(name: string): Promise<SidecarPolicy> {
  return (await api.getClusterCustomObject({
    group: GROUP,
    version: VERSION,
    plural: PLURAL,
    name,
  })) as SidecarPolicy;
}

function docs(file: string): { kind: string; metadata: { name: string }; [k: string]: unknown }[] {
  return parseAllDocuments(readFileSync(join(examples, file), 'utf8')).map((d) => d.toJS());
}

const samples = readdirSync(examples)
  .filter((f) => f.endsWith('.yaml'))
  .flatMap((file) =>
    docs(file)
      .filter((d) => d.kind === 'SidecarPolicy')
      .map((d) => [file, d] as const),
  );

describe('SidecarPolicy samples', () => {
  it('cover the documented cases', () => {
    expect(samples.map(([f]) => f).sort()).toEqual(
      [
        'bookinfo.yaml',
        'bootstrap-template.yaml',
        'minimal.yaml',
        'native-sidecar.yaml',
        'overrides.yaml',
        'tproxy.yaml',
        'xds.yaml',
      ].sort(),
    );
  });

  it.each(samples)('%s is accepted and reads back with every default applied', async (_file, doc) => {
    const spec = doc.spec as SidecarPolicySpec;
    const name = `${doc.metadata.name}-${suffix}`;
    await createPolicy(name, spec);
    const got = await getPolicy(name);
    expect(got.spec).toEqual(withDefaults(spec));
    // The defaults the controller relies on are present, not merely implied.
    expect(got.spec.proxy?.uid).toBeGreaterThan(0);
    expect(got.spec.interception?.outboundPort).toBeTypeOf('number');
    expect(got.spec.rollout?.strategy).toMatch(/^(Manual|Restart)$/);
    // No default init image: unset, the operator's own --init-image is injected, whatever its version.
    if (spec.init?.image === undefined) expect(got.spec.init?.image).toBeUndefined();
  });

  it('bookinfo is the Istio bookinfo setup', () => {
    const bookinfo = withDefaults(samples.find(([f]) => f === 'bookinfo.yaml')![1].spec as SidecarPolicySpec);
    expect(bookinfo.selector.namespaces).toEqual(['bookinfo']);
    expect(bookinfo.proxy.image).toMatch(/envoy/);
    expect(bookinfo.proxy.uid).toBe(1337);
    expect(bookinfo.interception).toMatchObject({
      mode: 'REDIRECT',
      outboundPort: 15001,
      inboundPort: 15006,
      includeInboundPorts: ['9080'],
      excludeInboundPorts: ['15020'],
    });
  });

  it('the bookinfo productpage workload is accepted by the API server', async () => {
    const ns = await testNamespace('crd-bookinfo');
    const kc = adminKubeConfig();
    const objects = docs('bookinfo-productpage.yaml');
    const svc = objects.find((o) => o.kind === 'Service') as V1Service;
    const deploy = objects.find((o) => o.kind === 'Deployment') as V1Deployment;
    expect(svc.metadata?.namespace).toBe('bookinfo');
    expect(deploy.spec?.template.spec?.containers[0]?.image).toBe(
      'docker.io/istio/examples-bookinfo-productpage-v1:1.20.3',
    );
    svc.metadata!.namespace = ns;
    deploy.metadata!.namespace = ns;
    await kc.makeApiClient(CoreV1Api).createNamespacedService({ namespace: ns, body: svc });
    const out = await kc.makeApiClient(AppsV1Api).createNamespacedDeployment({ namespace: ns, body: deploy });
    expect(out.spec?.template.metadata?.labels).toEqual({ app: 'productpage', version: 'v1' });
  });
});

const valid: SidecarPolicySpec = { selector: { namespaces: ['bookinfo'] } };

interface Invalid {
  what: string;
  spec: unknown;
  path: string;
  /** What the message must also say, where the schema's own wording is ours. */
  says?: string;
}

/** The characters of env values, args and command a policy may hold (its template must fit a ConfigMap). */
const TEMPLATE_TEXT_LIMIT = 262144;

/** Proxy env whose values add up to `chars` characters, in values of at most 32768 (the per-value bound). */
function sizedEnv(chars: number): { name: string; value: string }[] {
  const env = [];
  for (let i = 0, left = chars; left > 0; i++, left -= 32768)
    env.push({ name: `V${i}`, value: 'x'.repeat(Math.min(left, 32768)) });
  return env;
}

/** A spec that is valid except for what `patch` sets, merged one level deep per section. */
function spec(patch: Record<string, unknown>): unknown {
  const out: Record<string, unknown> = { ...valid };
  for (const [k, v] of Object.entries(patch)) {
    const base = out[k];
    out[k] =
      v !== null && typeof v === 'object' && !Array.isArray(v) && typeof base === 'object'
        ? { ...base, ...v }
        : v;
  }
  return out;
}

const invalid: Invalid[] = [
  {
    what: 'a CIDR with a /33 prefix',
    spec: spec({ interception: { includeOutboundIPRanges: ['10.0.0.0/33'] } }),
    path: 'spec.interception.includeOutboundIPRanges[0]',
    says: 'must be a CIDR',
  },
  {
    what: 'an address without a prefix length',
    spec: spec({ interception: { excludeOutboundIPRanges: ['10.0.0.1'] } }),
    path: 'spec.interception.excludeOutboundIPRanges[0]',
  },
  {
    what: 'an IPv6 CIDR with a /129 prefix',
    spec: spec({ interception: { excludeOutboundIPRanges: ['fd00::/8', 'fd00::/129'] } }),
    path: 'spec.interception.excludeOutboundIPRanges[1]',
  },
  {
    what: '"*" mixed with a CIDR',
    spec: spec({ interception: { includeOutboundIPRanges: ['*', '10.0.0.0/8'] } }),
    path: 'spec.interception.includeOutboundIPRanges',
    says: 'cannot be combined with other entries',
  },
  {
    what: '"*" among excluded CIDRs',
    spec: spec({ interception: { excludeOutboundIPRanges: ['*'] } }),
    path: 'spec.interception.excludeOutboundIPRanges[0]',
  },
  {
    what: 'outbound capture port 0',
    spec: spec({ interception: { outboundPort: 0 } }),
    path: 'spec.interception.outboundPort',
  },
  {
    what: 'inbound capture port 70000',
    spec: spec({ interception: { inboundPort: 70000 } }),
    path: 'spec.interception.inboundPort',
  },
  { what: 'admin port 0', spec: spec({ proxy: { ports: { admin: 0 } } }), path: 'spec.proxy.ports.admin' },
  {
    what: 'metrics port 70000',
    spec: spec({ proxy: { ports: { metrics: 70000 } } }),
    path: 'spec.proxy.ports.metrics',
  },
  {
    what: 'proxy UID 0',
    spec: spec({ proxy: { uid: 0 } }),
    path: 'spec.proxy.uid',
    says: 'must not be 0 (root)',
  },
  { what: 'proxy GID 0', spec: spec({ proxy: { gid: 0 } }), path: 'spec.proxy.gid' },
  { what: 'a negative UID', spec: spec({ proxy: { uid: -1 } }), path: 'spec.proxy.uid' },
  {
    what: 'an unknown sidecar mode',
    spec: spec({ injection: { sidecarMode: 'Sidecar' } }),
    path: 'spec.injection.sidecarMode',
  },
  {
    what: 'an unknown interception mode',
    spec: spec({ interception: { mode: 'IPVS' } }),
    path: 'spec.interception.mode',
  },
  {
    what: 'an unknown failure policy',
    spec: spec({ injection: { failurePolicy: 'Retry' } }),
    path: 'spec.injection.failurePolicy',
  },
  {
    what: 'an unknown rollout strategy',
    spec: spec({ rollout: { strategy: 'Canary' } }),
    path: 'spec.rollout.strategy',
  },
  {
    what: 'inbound and outbound capture on one port',
    spec: spec({ interception: { inboundPort: 15001 } }),
    path: 'spec.interception.inboundPort',
    says: 'must differ from outboundPort',
  },
  {
    what: 'inbound capture on the admin port',
    spec: spec({ interception: { inboundPort: 15000 } }),
    path: 'spec.interception.inboundPort',
    says: "must differ from the proxy's admin",
  },
  {
    what: 'outbound capture on the metrics port',
    spec: spec({ interception: { outboundPort: 15090 } }),
    path: 'spec.interception.outboundPort',
  },
  {
    what: 'outbound capture on a moved status port',
    spec: spec({ proxy: { ports: { status: 16000 } }, interception: { outboundPort: 16000 } }),
    path: 'spec.interception.outboundPort',
  },
  {
    what: 'status and health on one port',
    spec: spec({ proxy: { ports: { status: 15021 } } }),
    path: 'spec.proxy.ports',
    says: 'must all differ',
  },
  { what: 'no selector', spec: { priority: 1 }, path: 'spec.selector' },
  {
    what: 'a selector with neither namespaces nor namespaceSelector',
    spec: { selector: { podSelector: { matchLabels: { a: 'b' } } } },
    path: 'spec.selector',
    says: 'at least one of selector.namespaces or selector.namespaceSelector',
  },
  {
    what: 'an empty selector with Istio compatibility but not its namespace labels',
    spec: { selector: {}, compatibility: { istio: true } },
    path: 'spec.selector',
    says: 'or compatibility.istioNamespaceLabels',
  },
  {
    what: 'an empty namespaces list alone',
    spec: spec({ selector: { namespaces: [] } }),
    path: 'spec.selector',
  },
  {
    what: 'a namespace name that is not a DNS label',
    spec: spec({ selector: { namespaces: ['bookinfo', 'Book_Info'] } }),
    path: 'spec.selector.namespaces[1]',
  },
  {
    what: 'an In requirement without values',
    spec: spec({ selector: { namespaceSelector: { matchExpressions: [{ key: 'mesh', operator: 'In' }] } } }),
    path: 'spec.selector.namespaceSelector.matchExpressions[0].values',
    says: 'must be non-empty for In and NotIn',
  },
  {
    what: 'an unknown label operator',
    spec: spec({
      selector: {
        namespaceSelector: { matchExpressions: [{ key: 'mesh', operator: 'Like', values: ['x'] }] },
      },
    }),
    path: 'spec.selector.namespaceSelector.matchExpressions[0].operator',
  },
  {
    what: 'an unknown override name',
    spec: spec({ injection: { allowedOverrides: ['proxyCPU', 'proxyImage'] } }),
    path: 'spec.injection.allowedOverrides[1]',
  },
  { what: 'a priority that is a string', spec: spec({ priority: 'high' }), path: 'spec.priority' },
  {
    what: 'a hold flag that is a string',
    spec: spec({ injection: { holdApplicationUntilProxyStarts: 'yes' } }),
    path: 'spec.injection.holdApplicationUntilProxyStarts',
  },
  {
    what: 'ports given as numbers',
    spec: spec({ interception: { includeInboundPorts: [9080] } }),
    path: 'spec.interception.includeInboundPorts[0]',
  },
  {
    what: 'inbound port 70000',
    spec: spec({ interception: { includeInboundPorts: ['9080', '70000'] } }),
    path: 'spec.interception.includeInboundPorts[1]',
    says: 'must be a port number from 1 to 65535',
  },
  {
    what: 'excluded outbound port 0',
    spec: spec({ interception: { excludeOutboundPorts: ['0'] } }),
    path: 'spec.interception.excludeOutboundPorts[0]',
  },
  {
    what: 'a webhook timeout over 30 s',
    spec: spec({ injection: { timeoutSeconds: 31 } }),
    path: 'spec.injection.timeoutSeconds',
  },
  {
    what: 'maxUnavailable 0',
    spec: spec({ rollout: { maxUnavailable: 0 } }),
    path: 'spec.rollout.maxUnavailable',
  },
  {
    what: 'maxUnavailable 150%',
    spec: spec({ rollout: { maxUnavailable: '150%' } }),
    path: 'spec.rollout.maxUnavailable',
    says: 'percentage from 1% to 100%',
  },
  {
    what: 'a resource quantity that is not one',
    spec: spec({ proxy: { resources: { requests: { cpu: 'lots' } } } }),
    path: 'spec.proxy.resources.requests.cpu',
  },
  {
    what: 'an env entry without a name',
    spec: spec({ proxy: { env: [{ value: 'x' }] } }),
    path: 'spec.proxy.env[0].name',
  },
  { what: 'an empty proxy image', spec: spec({ proxy: { image: '' } }), path: 'spec.proxy.image' },
  {
    what: 'a proxy mount naming no volume',
    spec: spec({ proxy: { volumeMounts: [{ name: 'certs', mountPath: '/certs' }] } }),
    path: 'spec.proxy.volumeMounts',
    says: 'must name a volume declared in spec.volumes',
  },
  {
    what: 'a proxy mount over the configuration volume',
    spec: spec({
      volumes: [{ name: 'c', emptyDir: {} }],
      proxy: { volumeMounts: [{ name: 'c', mountPath: '/etc/sidecar/proxy/extra' }] },
    }),
    path: 'spec.proxy.volumeMounts[0].mountPath',
    says: "the proxy's configuration volume",
  },
  {
    what: 'a volume named like the configuration volume',
    spec: spec({ volumes: [{ name: 'sidecar-config', emptyDir: {} }] }),
    path: 'spec.volumes[0].name',
  },
  {
    what: 'a bootstrap template that names neither capture port',
    spec: spec({ proxy: { bootstrap: { mode: 'Template', template: 'admin: {}  # health on 15021\n' } } }),
    path: 'spec.proxy.bootstrap.template',
    says: 'must listen on the capture ports',
  },
  {
    what: 'a bootstrap template without the health port',
    spec: spec({
      proxy: {
        bootstrap: { mode: 'Template', template: 'ports: [{{ outboundPort }}, {{ inboundPort }}]\n' },
      },
    }),
    path: 'spec.proxy.bootstrap.template',
    says: 'must serve the readiness probe on the health port',
  },
  {
    what: 'mode Template without a template',
    spec: spec({ proxy: { bootstrap: { mode: 'Template' } } }),
    path: 'spec.proxy.bootstrap.template',
    says: 'template is required with mode Template',
  },
  {
    what: 'a control plane with mode Default',
    spec: spec({ proxy: { bootstrap: { xds: { host: 'cp', port: 18000 } } } }),
    path: 'spec.proxy.bootstrap.xds',
  },
  {
    what: 'a client certificate without its key',
    spec: spec({
      volumes: [{ name: 'x', secret: { secretName: 'x' } }],
      proxy: {
        volumeMounts: [{ name: 'x', mountPath: '/etc/xds' }],
        bootstrap: {
          mode: 'Xds',
          xds: {
            host: 'cp',
            port: 18000,
            tls: { caFile: '/etc/xds/ca.crt', certificateFile: '/etc/xds/tls.crt' },
          },
        },
      },
    }),
    path: 'spec.proxy.bootstrap.xds.tls',
    says: 'certificateFile and privateKeyFile go together',
  },
  {
    what: 'control-plane TLS files on no mounted volume',
    spec: spec({
      proxy: {
        bootstrap: { mode: 'Xds', xds: { host: 'cp', port: 18000, tls: { caFile: '/etc/xds/ca.crt' } } },
      },
    }),
    path: 'spec.proxy.bootstrap.xds.tls',
    says: 'must lie under one of proxy.volumeMounts',
  },
  {
    what: 'proxy args that set the configuration file the operator sets',
    spec: spec({ proxy: { args: ['--config-path', '/etc/envoy/envoy.yaml'] } }),
    path: 'spec.proxy.args',
    says: 'must not set -c/--config-path',
  },
  {
    what: 'an unknown bootstrap mode',
    spec: spec({ proxy: { bootstrap: { mode: 'Agent' } } }),
    path: 'spec.proxy.bootstrap.mode',
  },
  {
    what: 'a drain over 600 s',
    spec: spec({ proxy: { drainSeconds: 601 } }),
    path: 'spec.proxy.drainSeconds',
  },
  ...breaksEveryPod(),
];

/**
 * Policies the API server used to accept although every pod they inject is refused by it, or never
 * starts; and selectors and names that can never work.
 */
function breaksEveryPod(): Invalid[] {
  const IMAGE_SAYS = 'must be an image reference';
  const container = (patch: Record<string, unknown>) => spec({ proxy: patch });
  const envFrom = (valueFrom: unknown, value?: string) =>
    container({ env: [{ name: 'X', ...(value === undefined ? {} : { value }), valueFrom }] });
  const image = (what: string, ref: string): Invalid => ({
    what: `a proxy image ${what}`,
    spec: container({ image: ref }),
    path: 'spec.proxy.image',
    says: IMAGE_SAYS,
  });
  return [
    image('with a trailing space', 'docker.io/envoyproxy/envoy:v1.36.2 '),
    image('with a leading space', ' docker.io/envoyproxy/envoy:v1.36.2'),
    image('that is blank', ' '),
    image('with an inner space', 'docker.io/envoyproxy/ envoy:v1.36.2'),
    image('with a newline', 'docker.io/envoyproxy/envoy:v1.36.2\nx'),
    image('with a tab', 'envoy\t:v1'),
    image('with an uppercase name', 'docker.io/EnvoyProxy/envoy:v1.36.2'),
    image('with an empty tag', 'envoy:'),
    image('with a short digest', 'envoy@sha256:abc'),
    {
      what: 'an init image with a trailing newline',
      spec: spec({ init: { image: 'registry.example/init:v1\n' } }),
      path: 'spec.init.image',
      says: IMAGE_SAYS,
    },
    {
      what: 'a valueFrom with no source',
      spec: envFrom({}),
      path: 'spec.proxy.env[0].valueFrom',
      says: 'must set exactly one of fieldRef, resourceFieldRef, configMapKeyRef and secretKeyRef',
    },
    {
      what: 'a valueFrom with two sources',
      spec: envFrom({
        fieldRef: { fieldPath: 'metadata.name' },
        secretKeyRef: { name: 's', key: 'k' },
      }),
      path: 'spec.proxy.env[0].valueFrom',
      says: 'must set exactly one',
    },
    {
      what: 'a value and a valueFrom',
      spec: envFrom({ fieldRef: { fieldPath: 'metadata.name' } }, 'x'),
      path: 'spec.proxy.env[0].valueFrom',
      says: 'must not be set together with value',
    },
    {
      what: 'a fieldRef without fieldPath',
      spec: envFrom({ fieldRef: {} }),
      path: 'spec.proxy.env[0].valueFrom.fieldRef.fieldPath',
    },
    {
      what: 'a fieldRef to a field the environment cannot read',
      spec: envFrom({ fieldRef: { fieldPath: 'spec.containers' } }),
      path: 'spec.proxy.env[0].valueFrom.fieldRef.fieldPath',
      says: "must be a pod field a container's environment can read",
    },
    {
      what: 'a fieldRef in another API version',
      spec: envFrom({ fieldRef: { apiVersion: 'v2', fieldPath: 'metadata.name' } }),
      path: 'spec.proxy.env[0].valueFrom.fieldRef.apiVersion',
    },
    {
      what: 'a resourceFieldRef to an unknown resource',
      spec: envFrom({ resourceFieldRef: { resource: 'limits.gpu' } }),
      path: 'spec.proxy.env[0].valueFrom.resourceFieldRef.resource',
      says: 'must be limits.cpu',
    },
    {
      what: 'a secretKeyRef without a key',
      spec: envFrom({ secretKeyRef: { name: 'token' } }),
      path: 'spec.proxy.env[0].valueFrom.secretKeyRef.key',
    },
    {
      what: 'a configMapKeyRef without a name',
      spec: envFrom({ configMapKeyRef: { key: 'k' } }),
      path: 'spec.proxy.env[0].valueFrom.configMapKeyRef.name',
    },
    {
      what: 'a configMapKeyRef key with a slash',
      spec: envFrom({ configMapKeyRef: { name: 'c', key: 'a/b' } }),
      path: 'spec.proxy.env[0].valueFrom.configMapKeyRef.key',
    },
    {
      what: 'a CPU request above its limit',
      spec: container({ resources: { requests: { cpu: '2' }, limits: { cpu: '1500m' } } }),
      path: 'spec.proxy.resources.requests',
      says: 'each request must be at most the limit of the same resource',
    },
    {
      what: 'a memory limit below the default request',
      spec: container({ resources: { limits: { memory: '64Mi' } } }),
      path: 'spec.proxy.resources.requests',
      says: 'requests default to cpu 100m and memory 128Mi',
    },
    {
      what: 'an integer request above a quantity limit',
      spec: container({ resources: { requests: { cpu: 2 }, limits: { cpu: '1' } } }),
      path: 'spec.proxy.resources.requests',
    },
    {
      what: 'a quantity request above an integer limit',
      spec: container({ resources: { requests: { memory: '2Gi' }, limits: { memory: 1024 } } }),
      path: 'spec.proxy.resources.requests',
    },
    {
      what: 'an init memory request above its limit',
      spec: spec({ init: { resources: { requests: { memory: '1Gi' }, limits: { memory: '512Mi' } } } }),
      path: 'spec.init.resources.requests',
      says: 'requests default to cpu 10m and memory 40Mi',
    },
    {
      what: 'a negative CPU request',
      spec: container({ resources: { requests: { cpu: '-100m' } } }),
      path: 'spec.proxy.resources.requests[cpu]',
      says: 'must not be negative',
    },
    {
      what: 'a negative integer limit',
      spec: spec({ init: { resources: { limits: { cpu: -1 } } } }),
      path: 'spec.init.resources.limits[cpu]',
      says: 'must not be negative',
    },
    {
      what: 'a pod-selector label key with a space',
      spec: spec({ selector: { namespaces: ['a'], podSelector: { matchLabels: { 'my app': 'x' } } } }),
      path: 'spec.selector.podSelector.matchLabels',
      says: 'keys must be label keys',
    },
    {
      what: 'a pod-selector label key with an empty name',
      spec: spec({ selector: { namespaces: ['a'], podSelector: { matchLabels: { 'example.com/': 'x' } } } }),
      path: 'spec.selector.podSelector.matchLabels',
    },
    {
      what: 'a namespace-selector label key whose name is over 63 characters',
      spec: spec({ selector: { namespaceSelector: { matchLabels: { ['k'.repeat(64)]: 'x' } } } }),
      path: 'spec.selector.namespaceSelector.matchLabels',
    },
    {
      what: 'a pod-selector label value with a space',
      spec: spec({ selector: { namespaces: ['a'], podSelector: { matchLabels: { app: 'my app' } } } }),
      path: 'spec.selector.podSelector.matchLabels[app]',
      says: 'must be a label value',
    },
    {
      what: 'a requirement key with a leading dash',
      spec: spec({
        selector: { namespaceSelector: { matchExpressions: [{ key: '-mesh', operator: 'Exists' }] } },
      }),
      path: 'spec.selector.namespaceSelector.matchExpressions[0].key',
      says: 'must be a label key',
    },
    {
      what: 'a requirement value ending in a dot',
      spec: spec({
        selector: {
          namespaces: ['a'],
          podSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['ok', 'bad.'] }] },
        },
      }),
      path: 'spec.selector.podSelector.matchExpressions[0].values[1]',
      says: 'must be a label value',
    },
    {
      what: 'proxy env values one character over the per-policy size limit',
      spec: spec({ proxy: { env: sizedEnv(TEMPLATE_TEXT_LIMIT + 1) } }),
      path: 'spec.proxy.env',
      says: 'must together be at most 262144 characters',
    },
    {
      what: 'env values, args and command over the per-policy size limit together',
      spec: spec({
        proxy: {
          env: sizedEnv(TEMPLATE_TEXT_LIMIT / 2),
          args: ['a'.repeat(4096)].concat(Array<string>(31).fill('b'.repeat(4096))),
          command: ['envoy'],
        },
      }),
      path: 'spec.proxy.env',
      says: "the policy's rendered template must fit in its injector ConfigMap",
    },
  ];
}

describe('SidecarPolicy validation', () => {
  it('has a table of at least 20 invalid policies', () => {
    expect(invalid.length).toBeGreaterThanOrEqual(20);
  });

  it.each(invalid.map((c, i) => [c.what, c, i] as const))(
    'refuses %s, naming the field',
    async (_what, c, i) => {
      const name = `invalid-${i}-${suffix}`;
      const err = await createPolicy(name, c.spec).then(
        () => undefined,
        (e: unknown) => e as { code?: number; body?: string },
      );
      expect(err, 'the API server accepted it').toBeDefined();
      expect(err!.code).toBe(422);
      const status = JSON.parse(err!.body!) as {
        message: string;
        details?: { causes?: { field?: string }[] };
      };
      expect(status.message).toContain(`${c.path}:`);
      if (c.says) expect(status.message).toContain(c.says);
      expect(status.details?.causes?.map((x) => x.field)).toContain(c.path);
    },
  );

  it('accepts the boundary values', async () => {
    const name = `boundaries-${suffix}`;
    await createPolicy(name, {
      selector: { namespaceSelector: {} },
      priority: -5,
      injection: { timeoutSeconds: 30 },
      proxy: { uid: 1, gid: 2147483647, ports: { admin: 1, status: 65535, health: 2, metrics: 3 } },
      interception: {
        outboundPort: 65534,
        inboundPort: 4,
        includeOutboundIPRanges: ['0.0.0.0/0', '::/0', '2001:db8::/32'],
        includeInboundPorts: ['1', '65535'],
        excludeOutboundPorts: ['65535'],
      },
      rollout: { strategy: 'Restart', maxUnavailable: '100%' },
    });
    const got = await getPolicy(name);
    expect(got.spec.rollout?.maxUnavailable).toBe('100%');
    expect(got.spec.interception?.includeOutboundIPRanges).toEqual(['0.0.0.0/0', '::/0', '2001:db8::/32']);
  });

  it("accepts a selector-less policy that governs only the namespaces Istio's injector would", async () => {
    const name = `istio-only-${suffix}`;
    await createPolicy(name, { selector: {}, compatibility: { istio: true, istioNamespaceLabels: true } });
    expect((await getPolicy(name)).spec.compatibility?.istioNamespaceLabels).toBe(true);
  });

  it('accepts env values, args and command at the per-policy size limit', async () => {
    const name = `size-limit-${suffix}`;
    await createPolicy(
      name,
      spec({ proxy: { env: sizedEnv(TEMPLATE_TEXT_LIMIT - 10), args: ['0123456789'] } }),
    );
    const got = await getPolicy(name);
    expect(got.spec.proxy?.env?.reduce((n, e) => n + (e.value?.length ?? 0), 0)).toBe(
      TEMPLATE_TEXT_LIMIT - 10,
    );
  });

  it('accepts every policy the injection goldens use', async () => {
    const dir = join(import.meta.dirname, '..', 'src', 'inject', 'testdata', 'policies');
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const doc = parseAllDocuments(readFileSync(join(dir, f), 'utf8'))[0]!.toJS() as SidecarPolicy;
      await createPolicy(`golden-${f.slice(0, -5)}-${suffix}`, doc.spec);
    }
  });

  it('accepts valid images, quantities, valueFrom sources, selectors and a 63-character name', async () => {
    const images = [
      'envoy',
      'envoyproxy/envoy:v1.36.2',
      'localhost:5000/envoy',
      'registry.example.com:443/team/sub_path/envoy-proxy__x:1.0_rc.1',
      `docker.io/envoyproxy/envoy@sha256:${'a'.repeat(64)}`,
      `docker.io/envoyproxy/envoy:v1.36.2@sha256:${'0'.repeat(64)}`,
      '[fd00::1]:5000/envoy:v1',
    ];
    for (const [i, image] of images.entries()) {
      await createPolicy(`image-${i}-${suffix}`, { ...valid, proxy: { image }, init: { image } });
    }
    const name = `${'n'.repeat(63 - suffix.length - 1)}-${suffix}`;
    expect(name).toHaveLength(63);
    await createPolicy(name, {
      selector: {
        namespaceSelector: {
          matchLabels: { 'example.com/mesh': 'enabled', ['k'.repeat(63)]: '', 'a.b_c-d': 'A.b_c-9' },
          matchExpressions: [
            { key: `${'p'.repeat(253)}/name`, operator: 'Exists' },
            { key: 'tier', operator: 'NotIn', values: ['', 'x', 'v'.repeat(63)] },
          ],
        },
        podSelector: { matchLabels: { app: 'web' } },
      },
      proxy: {
        env: [
          { name: 'A', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: "metadata.labels['app']" } } },
          { name: 'B', valueFrom: { fieldRef: { fieldPath: 'status.podIPs' } } },
          {
            name: 'C',
            valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } },
          },
          { name: 'D', valueFrom: { configMapKeyRef: { name: 'proxy.config', key: 'a_b-c.d' } } },
          { name: 'E', value: '', valueFrom: { secretKeyRef: { name: 't', key: 'k', optional: true } } },
          { name: 'F', value: 'plain' },
        ],
        resources: {
          requests: { cpu: '0.5', memory: '128Mi', 'example.com/device': 1 },
          limits: { cpu: '500m', memory: 134217728, 'example.com/device': '1' },
        },
      },
      init: { resources: { requests: { cpu: 0 }, limits: { cpu: '+1', memory: '1e3' } } },
    });
    const got = await getPolicy(name);
    expect(got.spec.proxy?.env?.[4]?.valueFrom).toEqual({
      secretKeyRef: { name: 't', key: 'k', optional: true },
    });
  });

  it('refuses a name over 63 characters, which no namespace label can carry', async () => {
    const name = `${'n'.repeat(64 - suffix.length - 1)}-${suffix}`;
    expect(name).toHaveLength(64);
    const err = await createPolicy(name, valid).then(
      () => undefined,
      (e: unknown) => e as { code?: number; body?: string },
    );
    expect(err, 'the API server accepted it').toBeDefined();
    expect(err!.code).toBe(422);
    const status = JSON.parse(err!.body!) as { message: string; details?: { causes?: { field?: string }[] } };
    expect(status.message).toContain('metadata.name:');
    expect(status.message).toContain('must be at most 63 characters');
    expect(status.details?.causes?.map((x) => x.field)).toContain('metadata.name');
  });

  it('accepts what only some bootstrap modes refuse', async () => {
    // Without interception a template needs no capture listener; with bootstrap None the proxy's
    // args are the policy's alone.
    const name = `bootstrap-${suffix}`;
    await createPolicy(name, {
      selector: { namespaces: ['default'] },
      interception: { mode: 'None' },
      proxy: { bootstrap: { mode: 'Template', template: 'health: {{ healthPort }}\n' } },
    });
    expect((await getPolicy(name)).spec.proxy?.bootstrap).toEqual({
      mode: 'Template',
      template: 'health: {{ healthPort }}\n',
    });
    await createPolicy(`${name}-none`, {
      selector: { namespaces: ['default'] },
      proxy: { bootstrap: { mode: 'None' }, args: ['-c', '/etc/envoy/envoy.yaml'], command: ['envoy'] },
    });
    const none = await getPolicy(`${name}-none`);
    expect(none.spec.proxy?.args).toEqual(['-c', '/etc/envoy/envoy.yaml']);
    expect(none.spec.proxy?.drainSeconds).toBe(5);
  });
});

describe('SidecarPolicy with kubectl', () => {
  const kubectl = (...args: string[]) =>
    run('kubectl', [...args, '--kubeconfig', envtest().adminKubeconfigPath], { timeout: 60_000 });

  it('kubectl explain documents every field', async () => {
    const { stdout } = await kubectl('explain', 'sidecarpolicy.spec.interception.excludeOutboundIPRanges');
    expect(stdout).toContain('FIELD: excludeOutboundIPRanges');
    expect(stdout).toMatch(/Destination CIDRs \(IPv4 or IPv6\) whose outbound traffic is never\s+captured/);
  });

  it('kubectl get sp shows the printer columns', async () => {
    const name = `columns-${suffix}`;
    await createPolicy(name, { selector: { namespaces: ['default'] }, injection: { sidecarMode: 'Native' } });
    const { stdout } = await kubectl('get', 'sp', name);
    const [header, row] = stdout.trim().split('\n');
    expect(header!.split(/\s+/)).toEqual([
      'NAME',
      'READY',
      'CONFLICT',
      'ADMISSIBLE',
      'MODE',
      'NAMESPACES',
      'OUTDATED',
      'REVISION',
      'AGE',
    ]);
    expect(row).toMatch(new RegExp(`^${name}\\s+Native\\s+\\S+$`));
    const wide = await kubectl('get', 'sidecarpolicies.sidecar.dev', name, '-o', 'wide');
    expect(wide.stdout.split('\n')[0]!.split(/\s+/)).toEqual([
      'NAME',
      'READY',
      'REASON',
      'CONFLICT',
      'ADMISSIBLE',
      'MODE',
      'INTERCEPTION',
      'PRIORITY',
      'NAMESPACES',
      'INJECTED',
      'OUTDATED',
      'UNINJECTED',
      'REVISION',
      'AGE',
    ]);
  });
});
