import { describe, expect, it } from 'vitest';
import type { SidecarPolicy } from '../api/index.js';
import { exitCodeOf } from './check.js';
import { checkCertificateExpiry } from './certificate-checks.js';
import { checkServerVersion } from './cluster-checks.js';
import type { DoctorInputs } from './inputs.js';
import { checkNamespace } from './namespace-checks.js';
import { checkProxyConfig } from './proxy-checks.js';
import { compileTemplate, injectPod, type Container, type Pod } from '../inject/index.js';
import { checkCaBundle, checkReview } from './webhook-checks.js';

const now = new Date('2026-06-01T00:00:00Z');

function inputs(over: Partial<DoctorInputs> = {}): DoctorInputs {
  return {
    now,
    groupVersions: [],
    crdInstalled: true,
    operatorNamespaceCandidates: [],
    policies: [],
    scope: [],
    webhookConfigurations: [],
    probes: new Map(),
    operatorNamespace: 'sidecar-system',
    ...over,
  };
}

const policy = (name: string, priority: number, created: string): SidecarPolicy => ({
  apiVersion: 'sidecar.dev/v1alpha1',
  kind: 'SidecarPolicy',
  metadata: { name, creationTimestamp: created },
  spec: { selector: { namespaces: ['shop'] }, priority },
  status: { revision: `rev-${name}` },
});

describe('doctor checks', () => {
  it('maps the worst status to the exit code', () => {
    expect(exitCodeOf([])).toBe(0);
    expect(
      exitCodeOf([
        { name: 'a', status: 'pass', reason: '' },
        { name: 'b', status: 'warn', reason: '' },
      ]),
    ).toBe(1);
    expect(
      exitCodeOf([
        { name: 'a', status: 'fail', reason: '' },
        { name: 'b', status: 'warn', reason: '' },
      ]),
    ).toBe(2);
  });

  it('warns below 1.29 (no native sidecars)', () => {
    expect(checkServerVersion(inputs({ serverVersion: 'v1.28.4' })).status).toBe('warn');
    expect(checkServerVersion(inputs({ serverVersion: 'v1.29.0' })).status).toBe('pass');
  });

  it('names the winner and the loser of a conflict, and a lagging mark', () => {
    const ns = {
      metadata: {
        name: 'shop',
        labels: { 'sidecar.dev/policy': 'high' },
        annotations: { 'sidecar.dev/revision': 'rev-high' },
      },
    };
    const policies = [policy('low', 0, '2026-01-01T00:00:00Z'), policy('high', 5, '2026-02-01T00:00:00Z')];
    const ok = checkNamespace(inputs({ policies, namespace: { name: 'shop', object: ns } }));
    expect(ok).toMatchObject({ status: 'pass' });
    expect(ok?.reason).toContain('selected by high, which wins over low');
    const lagging = { metadata: { ...ns.metadata, annotations: { 'sidecar.dev/revision': 'old' } } };
    expect(checkNamespace(inputs({ policies, namespace: { name: 'shop', object: lagging } }))?.status).toBe(
      'warn',
    );
    const unmarked = { metadata: { name: 'shop' } };
    expect(checkNamespace(inputs({ policies, namespace: { name: 'shop', object: unmarked } }))?.status).toBe(
      'fail',
    );
  });

  it('fails an expired certificate and warns within a week', () => {
    const probe = (notAfter: string) =>
      new Map([
        [
          'p',
          {
            caBundleEmpty: false,
            tls: { address: 'x:1', expectedHost: 'x', chainVerified: true, peerNotAfter: new Date(notAfter) },
          },
        ],
      ]);
    expect(checkCertificateExpiry(inputs({ probes: probe('2026-05-31T00:00:00Z') })).status).toBe('fail');
    expect(checkCertificateExpiry(inputs({ probes: probe('2026-06-03T00:00:00Z') })).status).toBe('warn');
    expect(checkCertificateExpiry(inputs({ probes: probe('2026-09-01T00:00:00Z') })).status).toBe('pass');
  });

  it('tells a chain mismatch from a wrong host name', () => {
    const base = { address: 'x:1', expectedHost: 'svc.ns.svc' };
    expect(
      checkCaBundle('p', {
        caBundleEmpty: false,
        tls: { ...base, chainVerified: false, chainError: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' },
      }).reason,
    ).toMatch(/does not verify against the caBundle/);
    expect(
      checkCaBundle('p', {
        caBundleEmpty: false,
        tls: { ...base, chainVerified: true, hostnameError: 'no SAN' },
      }).reason,
    ).toMatch(/not valid for svc\.ns\.svc/);
    expect(checkCaBundle('p', { caBundleEmpty: true }).status).toBe('fail');
  });
});

describe('doctor: the proxy’s configuration', () => {
  const compile = (spec: Record<string, unknown> = {}) =>
    compileTemplate(
      { metadata: { name: 'mesh' }, spec: { selector: { namespaces: ['shop'] }, ...spec } },
      { nativeSidecars: true, initImage: 'init:1' },
    );
  const inject = (spec?: Record<string, unknown>): Pod =>
    injectPod(
      { metadata: { name: 'web' }, spec: { containers: [{ name: 'web', image: 'web:1' }] } },
      compile(spec),
      {
        namespace: 'shop',
        operatorNamespace: 'sidecar-system',
      },
    ).pod;
  const check = (pod: Pod) =>
    checkProxyConfig(inputs({ namespace: { name: 'shop' }, pod: { name: 'web', found: true, pod } }));
  /** The pod with its containers changed by `edit`. */
  const edited = (pod: Pod, edit: (c: Container) => Container): Pod => ({
    ...pod,
    spec: {
      ...pod.spec!,
      initContainers: pod.spec!.initContainers?.map(edit),
      containers: pod.spec!.containers.map(edit),
    },
  });

  it('passes when sidecar-init writes the file the proxy reads', () => {
    expect(check(inject())).toMatchObject({ status: 'pass', name: 'proxy-config:shop/web' });
    expect(check(inject())?.reason).toMatch(/^sidecar-init writes \/etc\/sidecar\/proxy\/envoy\.yaml/);
  });

  it('fails a proxy reading a file on no volume (the old bookinfo example)', () => {
    const old = edited(
      inject({ proxy: { bootstrap: { mode: 'None' }, args: ['--config-path', '/etc/sidecar/envoy.yaml'] } }),
      (c) => c,
    );
    const r = check(old);
    expect(r).toMatchObject({ status: 'fail' });
    expect(r?.reason).toContain('reads /etc/sidecar/envoy.yaml, which lies on no volume it mounts');
    expect(r?.fix).toMatch(/rollout restart/);
  });

  it('fails a proxy reading its memory volume when nothing writes there', () => {
    const unwritten = edited(inject(), (c) => (c.name === 'sidecar-init' ? { ...c, env: [] } : c));
    expect(check(unwritten)?.reason).toMatch(/from its memory volume, but nothing writes it there/);
  });

  it('passes a file from one of the policy’s volumes, and warns when the proxy is given no file', () => {
    const fromConfigMap = inject({
      volumes: [{ name: 'envoy', configMap: { name: 'envoy' } }],
      proxy: {
        bootstrap: { mode: 'None' },
        volumeMounts: [{ name: 'envoy', mountPath: '/etc/envoy' }],
        args: ['-c', '/etc/envoy/envoy.yaml'],
      },
    });
    expect(check(fromConfigMap)).toMatchObject({ status: 'pass' });
    expect(check(fromConfigMap)?.reason).toContain('from volume envoy');
    expect(check(inject({ proxy: { bootstrap: { mode: 'None' } } }))?.status).toBe('warn');
  });

  it('says nothing about a pod without a sidecar', () => {
    expect(check({ metadata: { name: 'web' }, spec: { containers: [{ name: 'web' }] } })).toBeUndefined();
  });
});

describe('doctor: the webhook’s answer to a review', () => {
  const probe = (httpStatus: number, message?: string) => ({
    url: 'https://10.0.0.5/inject/mesh',
    caBundleEmpty: false,
    review: { httpStatus, message },
  });

  it('takes a 401 for client authentication at work (only the API server is served), not for a fault', () => {
    const r = checkReview(
      'mesh',
      probe(401, 'a client certificate signed by the webhook client CA is required'),
    );
    expect(r.status).toBe('pass');
    expect(r.reason).toContain('only the API server is served');
  });

  it('fails any other non-200 answer with its status and message', () => {
    expect(checkReview('mesh', probe(503, 'not ready'))).toEqual({
      name: 'webhook-review:mesh',
      status: 'fail',
      reason: 'POST https://10.0.0.5/inject/mesh answered HTTP 503: not ready',
      code: 'SO126',
      docs: 'docs/doctor.md#so126',
    });
  });
});
