import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SidecarPolicy } from '../api/index.js';
import { compileTemplate, injectPod, type Pod } from '../inject/index.js';
import { CODES, docsAnchor, type Code } from './codes.js';
import type { DoctorInputs, WebhookProbe } from './inputs.js';
import { runChecks } from './run-checks.js';

const ROOT = join(import.meta.dirname, '..', '..');
const DOC = readFileSync(join(ROOT, 'docs', 'doctor.md'), 'utf8');
const codes = Object.keys(CODES) as Code[];

describe('doctor codes', () => {
  it('are SO1 and two digits, each with its own title', () => {
    for (const c of codes) expect(c).toMatch(/^SO1\d\d$/);
    const titles = Object.values(CODES);
    expect(new Set(titles).size).toBe(titles.length);
    expect(docsAnchor('SO121')).toBe('docs/doctor.md#so121');
  });

  it('each has a section in docs/doctor.md, and the page documents no other', () => {
    const sections = [...DOC.matchAll(/^### (SO\d+)$/gm)].map((m) => m[1]);
    expect(sections).toEqual(codes);
    for (const c of codes) {
      const body = DOC.split(`### ${c}\n`)[1]?.split(/^### /m)[0]?.trim() ?? '';
      expect(body.length, `${c}: says what it means and what to do`).toBeGreaterThan(30);
    }
  });

  it('each is used by a check', () => {
    const dir = import.meta.dirname;
    const source = readdirSync(dir)
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && f !== 'codes.ts')
      .map((f) => readFileSync(join(dir, f), 'utf8'))
      .join('\n');
    expect(codes.filter((c) => !source.includes(`'${c}'`))).toEqual([]);
  });
});

/*
 * Every warn and fail carries its code and the code's anchor, and no pass carries one, over inputs
 * combined from each area's healthy and broken states.
 */
const template = compileTemplate(
  { metadata: { name: 'mesh' }, spec: { selector: { namespaces: ['shop'] } } },
  { nativeSidecars: true, initImage: 'ghcr.io/sidecar-operator/sidecar-operator:v0.1.0' },
);
const app = (name: string, extra: Partial<NonNullable<Pod['spec']>> = {}): Pod => ({
  metadata: { name, namespace: 'shop' },
  spec: { containers: [{ name: 'app', image: 'nginx' }], ...extra },
});
const injected = injectPod(app('web'), template, {
  namespace: 'shop',
  operatorNamespace: 'sidecar-system',
}).pod;
const now = new Date('2026-06-01T00:00:00Z');
const ago = (s: number): Date => new Date(now.getTime() - s * 1000);

const policy = (ready: 'True' | 'False' | undefined, uninjected = 0): SidecarPolicy => ({
  metadata: { name: 'mesh', generation: 1 },
  spec: { selector: { namespaces: ['shop'] } },
  status: {
    observedGeneration: 1,
    revision: template.revision,
    namespaces: 1,
    uninjectedPods: uninjected,
    conditions:
      ready === undefined
        ? []
        : [
            { type: 'Ready', status: ready, reason: 'R', message: 'm', lastTransitionTime: '' },
            { type: 'PodsAdmissible', status: ready, reason: 'R', message: 'm', lastTransitionTime: '' },
          ],
  },
});

const probes: WebhookProbe[] = [
  { caBundleEmpty: true },
  { caBundleEmpty: false, unreachable: 'no DNS' },
  {
    caBundleEmpty: false,
    url: 'https://x',
    tls: { address: 'x:443', expectedHost: 'x', connectError: 'ECONNREFUSED' },
    review: { error: 'ECONNREFUSED' },
  },
  {
    caBundleEmpty: false,
    url: 'https://x',
    tls: { address: 'x:443', expectedHost: 'x', chainVerified: false, peerNotAfter: ago(10) },
    review: { httpStatus: 200, allowed: true, patchOps: 0 },
  },
  {
    caBundleEmpty: false,
    url: 'https://x',
    tls: { address: 'x:443', expectedHost: 'x', chainVerified: true, peerNotAfter: ago(-86400) },
    review: { httpStatus: 503, message: 'no' },
  },
  {
    caBundleEmpty: false,
    url: 'https://x',
    tls: { address: 'x:443', expectedHost: 'x', chainVerified: true, peerNotAfter: ago(-86400 * 90) },
    review: { httpStatus: 200, allowed: true, patchOps: 5 },
  },
];

const arbitraryInputs = fc
  .record({
    connect: fc.boolean(),
    crd: fc.boolean(),
    version: fc.constantFrom('v1.28.0', 'v1.33.1', 'weird', undefined),
    ready: fc.constantFrom('True' as const, 'False' as const, undefined),
    uninjected: fc.nat(3),
    replicas: fc.nat(3),
    readyReplicas: fc.nat(3),
    lease: fc.constantFrom('fresh', 'stale', 'missing', 'released'),
    readyz: fc.constantFrom<200 | 503 | 'proxy' | 'error'>(200, 503, 'proxy', 'error'),
    probe: fc.nat(probes.length - 1),
    mwc: fc.boolean(),
    nsLabel: fc.constantFrom('mesh', 'other', undefined),
    pod: fc.constantFrom('injected', 'plain', 'hostNetwork', 'missing', undefined),
    admission: fc.constantFrom('mutated', 'refused', 'plain', undefined),
  })
  .map((o): DoctorInputs => {
    const labels: Record<string, string> = o.nsLabel ? { 'sidecar.dev/policy': o.nsLabel } : {};
    const shop = { metadata: { name: 'shop', labels } };
    const pods = [injected, app('plain'), app('hostnet', { hostNetwork: true })];
    return {
      now,
      ...(o.connect ? {} : { connectError: 'ECONNREFUSED' }),
      serverVersion: o.version,
      groupVersions: o.crd ? ['admissionregistration.k8s.io/v1', 'sidecar.dev/v1alpha1'] : [],
      crdInstalled: o.crd,
      operatorNamespace: 'sidecar-system',
      operatorNamespaceCandidates: [],
      templates: { templates: new Map([['mesh', template]]), errors: [] },
      policies: [policy(o.ready, o.uninjected)],
      scope: ['mesh'],
      webhookConfigurations: o.mwc ? [{ metadata: { name: 'mesh' }, webhooks: [] }] : [],
      probes: new Map(o.mwc ? [['mesh', probes[o.probe]!]] : []),
      ...(o.admission
        ? {
            admission: {
              namespace: 'shop',
              policy: 'mesh',
              ...(o.admission === 'refused'
                ? { error: 'failed calling webhook' }
                : { mutated: o.admission === 'mutated' }),
            },
          }
        : {}),
      namespace: { name: 'shop', object: shop },
      ...(o.pod
        ? {
            pod:
              o.pod === 'missing'
                ? { name: 'gone', found: false }
                : {
                    name: o.pod,
                    found: true,
                    pod: o.pod === 'injected' ? injected : o.pod === 'plain' ? app('plain') : pods[2],
                  },
          }
        : {}),
      workload: {
        deployments: [
          {
            name: 'sidecar-operator',
            replicas: o.replicas,
            ready: Math.min(o.readyReplicas, o.replicas),
            problems: [],
          },
        ],
        service: { name: 'sidecar-operator', readyEndpoints: o.readyReplicas },
        replicas: [
          o.readyz === 'error'
            ? { pod: 'op-1', error: 'no IP yet' }
            : o.readyz === 'proxy'
              ? { pod: 'op-1', httpStatus: 503, body: '{"kind":"Status","message":"dial tcp: refused"}' }
              : { pod: 'op-1', httpStatus: o.readyz, body: o.readyz === 200 ? 'ok' : 'templates not loaded' },
        ],
      },
      lease:
        o.lease === 'missing'
          ? { namespace: 'sidecar-system', name: 'sidecar-operator-leader', found: false }
          : {
              namespace: 'sidecar-system',
              name: 'sidecar-operator-leader',
              found: true,
              ...(o.lease === 'released' ? {} : { holder: 'op-1' }),
              renewTime: ago(o.lease === 'stale' ? 60 : 1),
              durationSeconds: 15,
            },
      governedPods: [{ namespace: 'shop', policy: 'mesh', pods }],
      mesh: {
        governed: new Map([['shop', { policy: 'mesh', object: shop }]]),
        meshedPods: [],
        foreignWebhooks: [],
      },
    };
  });

describe('doctor results', () => {
  it('carry a code and its anchor on every warn and fail, and none on a pass', () => {
    fc.assert(
      fc.property(arbitraryInputs, (inputs) => {
        for (const r of runChecks(inputs)) {
          if (r.status === 'pass') {
            expect(r.code).toBeUndefined();
            expect(r.docs).toBeUndefined();
          } else {
            expect(r.code, `${r.name}: ${r.reason}`).toBeDefined();
            expect(r.docs).toBe(docsAnchor(r.code!));
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
