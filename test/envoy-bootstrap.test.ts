import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, inject, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import type { SidecarPolicySpec } from '../src/api/index.js';
import {
  compileTemplate,
  injectPod,
  readPodProxyConfig,
  resolveAtStart,
  type Pod,
  type PolicyInput,
} from '../src/inject/index.js';

/**
 * Envoy's own API schema accepts every bootstrap the operator renders. No Envoy binary can be had on
 * these machines (none in Debian, npm or the Go module proxy), so the check is hack/envoy-validate:
 * Envoy's API (go-control-plane) parses each file with protojson into config.bootstrap.v3.Bootstrap,
 * unpacks every typed_config into its registered type, and runs the generated validation rules.
 * What Envoy checks only at run time (a cluster type with the wrong lb_policy, a port in use) is
 * outside what this can see; the real-node tests start the proxy.
 */

const root = join(import.meta.dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'envoy-bootstrap-'));
const initImage = 'ghcr.io/sidecar-operator/sidecar-operator:v0.1.0';
const ctx = { namespace: 'apps', operatorNamespace: 'sidecar-system' };

interface Verdict {
  file: string;
  valid: boolean;
  errors?: string[];
  types?: string[];
}

function validator(): string {
  const tool = inject('envoyValidate');
  if (!tool.path) throw new Error(tool.error ?? 'the global setup built no envoy-validate');
  return tool.path;
}

let counter = 0;

/** Writes each bootstrap to a file and runs the validator once over all of them. */
function validate(bootstraps: { label: string; text: string }[]): Map<string, Verdict> {
  const files = bootstraps.map((b) => {
    const file = join(dir, `${++counter}-${b.label.replace(/[^\w.-]+/g, '_')}.yaml`);
    writeFileSync(file, b.text);
    return file;
  });
  const r = spawnSync(validator(), ['-json', ...files], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0 && r.status !== 1) throw new Error(`envoy-validate exited ${r.status}: ${r.stderr}`);
  const verdicts = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Verdict);
  expect(verdicts).toHaveLength(files.length);
  return new Map(verdicts.map((v, i) => [bootstraps[i]!.label, v]));
}

function expectAllValid(bootstraps: { label: string; text: string }[]): Map<string, Verdict> {
  const verdicts = validate(bootstraps);
  const failed = [...verdicts]
    .filter(([, v]) => !v.valid)
    .map(([label, v]) => `${label}: ${v.errors?.join('; ')}`);
  expect(failed).toEqual([]);
  return verdicts;
}

/** What sidecar-init writes for `pod` (as `pod` comes out of the injector). */
function written(pod: Pod, ipv6: boolean): string {
  const config = readPodProxyConfig(pod);
  if (!config) throw new Error(`${pod.metadata?.name}: no proxy configuration`);
  return resolveAtStart(config.text, {
    podName: pod.metadata?.name ?? 'pod-x1',
    podNamespace: 'apps',
    podIP: '10.0.0.7',
    ipv6,
  });
}

const productpage: Pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'productpage-v1-abcde', labels: { app: 'productpage', workload: 'batch' } },
  spec: { containers: [{ name: 'productpage', image: 'productpage:1', ports: [{ containerPort: 9080 }] }] },
};

describe('the validator', () => {
  it('refuses what Envoy would refuse: unknown fields, bad enums, rule violations, unknown types', () => {
    const good = written(
      injectPod(
        productpage,
        compileTemplate(
          { metadata: { name: 'p' }, spec: { selector: { namespaces: ['apps'] } } },
          { nativeSidecars: true, initImage },
        ),
        ctx,
      ).pod,
      false,
    );
    const verdicts = validate([
      { label: 'good', text: good },
      {
        label: 'unknown-field',
        text: good.replace(
          'traffic_direction: OUTBOUND',
          'traffic_direction: OUTBOUND\n      no_such_field: 1',
        ),
      },
      { label: 'bad-enum', text: good.replace('type: ORIGINAL_DST', 'type: ORIGINAL_DESTINATION') },
      { label: 'empty-stat-prefix', text: good.replace('stat_prefix: outbound\n', 'stat_prefix: ""\n') },
      {
        label: 'unknown-type',
        text: good.replace('original_dst.v3.OriginalDst', 'original_dst.v3.OriginalDestination'),
      },
      { label: 'bad-port', text: good.replace('port_value: 15001', 'port_value: 70000') },
    ]);
    expect(verdicts.get('good')).toMatchObject({ valid: true });
    expect(verdicts.get('good')?.types).toEqual(
      expect.arrayContaining([
        'envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
        'envoy.extensions.access_loggers.stream.v3.StdoutAccessLog',
        'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
      ]),
    );
    for (const bad of ['unknown-field', 'bad-enum', 'empty-stat-prefix', 'unknown-type', 'bad-port']) {
      expect(verdicts.get(bad), bad).toMatchObject({ valid: false });
    }
    expect(verdicts.get('empty-stat-prefix')?.errors?.join()).toMatch(/TcpProxy.*StatPrefix/);
  });
});

describe('every example’s bootstrap', () => {
  const examples = readdirSync(join(root, 'examples'))
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) =>
      parseAllDocuments(readFileSync(join(root, 'examples', f), 'utf8'))
        .map((d) => d.toJS() as PolicyInput & { kind: string })
        .filter((d) => d.kind === 'SidecarPolicy')
        .map((d) => [f, d] as const),
    );

  it('covers the examples', () => {
    expect(examples.length).toBeGreaterThanOrEqual(7);
  });

  it('is accepted by Envoy’s API schema, with and without IPv6, in both sidecar modes', () => {
    const bootstraps = examples.flatMap(([file, policy]) =>
      [true, false].flatMap((nativeSidecars) => {
        const template = compileTemplate(policy, { nativeSidecars, initImage });
        const namespace = policy.spec.selector.namespaces?.[0] ?? 'apps';
        const pod = injectPod(productpage, template, { ...ctx, namespace }).pod;
        return [false, true].map((ipv6) => ({
          label: `${file}-native=${nativeSidecars}-ipv6=${ipv6}`,
          text: written(pod, ipv6),
        }));
      }),
    );
    expect(bootstraps).toHaveLength(examples.length * 4);
    expectAllValid(bootstraps);
  });
});

describe('every golden’s bootstrap', () => {
  const testdata = join(root, 'src', 'inject', 'testdata');
  const goldens = readdirSync(testdata).filter((f) => f.endsWith('.golden.yaml'));

  it('is accepted by Envoy’s API schema', () => {
    const bootstraps = goldens.flatMap((f) => {
      const pod = (parse(readFileSync(join(testdata, f), 'utf8')) as { pod: Pod }).pod;
      return readPodProxyConfig(pod)
        ? [
            { label: f, text: written(pod, false) },
            { label: `${f}-ipv6`, text: written(pod, true) },
          ]
        : [];
    });
    // Every golden that injects carries a configuration (the skipped ones carry none).
    expect(bootstraps.length).toBeGreaterThanOrEqual(2 * 14);
    expectAllValid(bootstraps);
  });
});

/** Valid policies, over everything that changes the bootstrap. */
const distinctPorts = fc.uniqueArray(fc.integer({ min: 1024, max: 65535 }), { minLength: 6, maxLength: 6 });
const policySpec: fc.Arbitrary<SidecarPolicySpec> = fc
  .record({
    ports: distinctPorts,
    mode: fc.constantFrom('REDIRECT' as const, 'TPROXY' as const, 'None' as const),
    switchable: fc.boolean(),
    bootstrap: fc.oneof(
      fc.constant({ mode: 'Default' as const }),
      fc.record({
        mode: fc.constant('Xds' as const),
        xds: fc.record(
          {
            host: fc.constantFrom('istiod.istio-system.svc', 'control-plane', '10.96.0.20', 'fd00::20'),
            port: fc.integer({ min: 1, max: 65535 }),
            apiType: fc.constantFrom('GRPC' as const, 'DELTA_GRPC' as const),
            tls: fc.option(
              fc.record(
                {
                  caFile: fc.constant('/etc/xds/ca.crt'),
                  certificateFile: fc.constant('/etc/xds/tls.crt'),
                  privateKeyFile: fc.constant('/etc/xds/tls.key'),
                  serverName: fc.constantFrom('istiod.istio-system.svc', 'cp.example'),
                },
                { requiredKeys: ['caFile'] },
              ),
              { nil: undefined },
            ),
          },
          { requiredKeys: ['host', 'port'] },
        ),
      }),
    ),
    drainSeconds: fc.integer({ min: 0, max: 600 }),
    uid: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  })
  .map(({ ports, mode, switchable, bootstrap, drainSeconds, uid }) => {
    const [admin, status, health, metrics, outboundPort, inboundPort] = ports as [
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    const tls = bootstrap.mode === 'Xds' ? bootstrap.xds.tls : undefined;
    // CEL: TLS files must lie on a mounted volume, and certificate and key go together.
    const xdsTls = tls && !(tls.certificateFile && tls.privateKeyFile) ? { caFile: tls.caFile } : tls;
    const bs =
      bootstrap.mode === 'Xds' ? { ...bootstrap, xds: { ...bootstrap.xds, tls: xdsTls } } : bootstrap;
    return {
      selector: { namespaces: ['apps'] },
      injection: switchable ? { allowedOverrides: ['interceptionMode' as const] } : {},
      interception: { mode, outboundPort, inboundPort },
      ...(tls ? { volumes: [{ name: 'xds', secret: { secretName: 'xds' } }] } : {}),
      proxy: {
        uid,
        gid: uid,
        drainSeconds,
        ports: { admin, status, health, metrics },
        bootstrap: bs,
        ...(tls ? { volumeMounts: [{ name: 'xds', mountPath: '/etc/xds', readOnly: true }] } : {}),
      },
    };
  });

describe('random valid policies', () => {
  it('all give bootstraps Envoy’s API schema accepts', () => {
    const cases = fc.sample(
      fc.record({
        spec: policySpec,
        native: fc.boolean(),
        ipv6: fc.boolean(),
        tproxyByAnnotation: fc.boolean(),
        name: fc.stringMatching(/^[a-z][a-z0-9-]{0,20}[a-z0-9]$/),
      }),
      { numRuns: 150, seed: 15 },
    );
    const bootstraps = cases.map((c, i) => {
      const template = compileTemplate(
        { metadata: { name: c.name }, spec: c.spec },
        { nativeSidecars: c.native, initImage },
      );
      const annotations: Record<string, string> = c.tproxyByAnnotation
        ? { 'traffic.sidecar.dev/interceptionMode': 'TPROXY' }
        : {};
      const pod = injectPod(
        { ...productpage, metadata: { name: `${c.name}-${i}`, annotations } },
        template,
        ctx,
      ).pod;
      return { label: `case-${i}`, text: written(pod, c.ipv6) };
    });
    const verdicts = expectAllValid(bootstraps);
    // The cases cover what they are meant to: capture and none, control planes, IPv6.
    const texts = bootstraps.map((b) => b.text);
    expect(texts.some((t) => t.includes('transparent: true'))).toBe(true);
    expect(texts.some((t) => !t.includes('name: outbound'))).toBe(true);
    expect(texts.some((t) => t.includes('ads_config'))).toBe(true);
    expect(texts.some((t) => t.includes('UpstreamTlsContext'))).toBe(true);
    expect(texts.some((t) => t.includes('address: "::"'))).toBe(true);
    expect([...verdicts.values()].every((v) => (v.types?.length ?? 0) >= 4)).toBe(true);
  });
});
