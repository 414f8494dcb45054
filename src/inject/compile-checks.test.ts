import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { withDefaults, type SidecarPolicySpec } from '../api/index.js';
import { IMAGE_REFERENCE, LABEL_KEY, LABEL_VALUE, parseQuantity, policyProblem } from './compile-checks.js';
import { compileTemplate } from './index.js';

const initImage = 'ghcr.io/sidecar-operator/sidecar-operator:v0.1.0';
const base: SidecarPolicySpec = { selector: { namespaces: ['a'] } };
const problem = (spec: Partial<SidecarPolicySpec>, name = 'p') =>
  policyProblem(name, withDefaults({ ...base, ...spec }));

describe('policyProblem', () => {
  it.each([
    ['a trailing space', 'docker.io/envoyproxy/envoy:v1.36.2 '],
    ['a blank image', ' '],
    ['an inner space', 'docker.io/envoyproxy/ envoy:v1'],
    ['a newline', 'envoy:v1\nx'],
    ['an uppercase name', 'Envoy:v1'],
    ['an empty tag', 'envoy:'],
    ['a short digest', 'envoy@sha256:abc'],
  ])('refuses a proxy image with %s', (_what, image) => {
    expect(problem({ proxy: { image } })).toMatch(/^proxy\.image: .* is not an image reference/);
  });

  it('refuses an init image with whitespace', () => {
    expect(problem({ init: { image: 'registry.example/init:v1 ' } })).toMatch(/^init\.image: /);
  });

  it.each([
    'envoy',
    'localhost:5000/envoy',
    'registry.example.com:443/team/sub_path/envoy-proxy__x:1.0_rc.1',
    `docker.io/envoyproxy/envoy:v1.36.2@sha256:${'0'.repeat(64)}`,
    '[fd00::1]:5000/envoy:v1',
  ])('accepts the image %s', (image) => {
    expect(problem({ proxy: { image }, init: { image } })).toBeUndefined();
  });

  it.each([
    [
      { proxy: { resources: { requests: { cpu: '2' }, limits: { cpu: '1500m' } } } },
      'proxy.resources.requests.cpu',
    ],
    [{ proxy: { resources: { limits: { memory: '64Mi' } } } }, 'proxy.resources.requests.memory'],
    [
      { proxy: { resources: { requests: { cpu: 2 }, limits: { cpu: '1' } } } },
      'proxy.resources.requests.cpu',
    ],
    [
      { init: { resources: { requests: { memory: '1Gi' }, limits: { memory: 1024 } } } },
      'init.resources.requests.memory',
    ],
  ])('refuses a request above its limit (%j)', (spec, field) => {
    expect(problem(spec)).toMatch(new RegExp(`^${field.replaceAll('.', '\\.')}: .* is above the limit`));
  });

  it('refuses negative quantities and ones that are none', () => {
    expect(problem({ proxy: { resources: { requests: { cpu: '-100m' } } } })).toBe(
      'proxy.resources.requests.cpu: "-100m" must not be negative',
    );
    expect(problem({ init: { resources: { limits: { cpu: -1 } } } })).toMatch(
      /^init\.resources\.limits\.cpu: /,
    );
    expect(problem({ proxy: { resources: { requests: { cpu: 'lots' } } } })).toMatch(/is not a quantity$/);
  });

  it('accepts equal requests and limits written differently', () => {
    const resources = {
      requests: { cpu: '0.5', memory: '128Mi', 'example.com/device': 1 },
      limits: { cpu: '500m', memory: 134217728, 'example.com/device': '1' },
    };
    expect(problem({ proxy: { resources } })).toBeUndefined();
  });

  it('refuses a valueFrom with no source, two sources, or beside a value', () => {
    const env = (valueFrom: object, value?: string) => ({
      proxy: {
        env: [
          { name: 'A', value: 'x' },
          { name: 'X', value, valueFrom },
        ],
      },
    });
    expect(problem(env({}))).toMatch(/^proxy\.env\[1\]\.valueFrom: must set exactly one of .* \(none set\)$/);
    expect(
      problem(env({ fieldRef: { fieldPath: 'metadata.name' }, secretKeyRef: { name: 's', key: 'k' } })),
    ).toMatch(/\(fieldRef, secretKeyRef set\)$/);
    expect(problem(env({ fieldRef: { fieldPath: 'metadata.name' } }, 'x'))).toBe(
      'proxy.env[1].valueFrom: must not be set together with value',
    );
    expect(problem(env({ fieldRef: { fieldPath: 'metadata.name' } }, ''))).toBeUndefined();
  });

  it('refuses selector keys and values that are not labels', () => {
    const pods = (podSelector: object) => ({ selector: { namespaces: ['a'], podSelector } });
    expect(problem(pods({ matchLabels: { 'my app': 'x' } }))).toBe(
      'selector.podSelector.matchLabels: "my app" is not a label key',
    );
    expect(problem(pods({ matchLabels: { app: 'my app' } }))).toBe(
      'selector.podSelector.matchLabels[app]: "my app" is not a label value',
    );
    expect(
      problem({ selector: { namespaceSelector: { matchExpressions: [{ key: '-x', operator: 'Exists' }] } } }),
    ).toBe('selector.namespaceSelector.matchExpressions[0].key: "-x" is not a label key');
    expect(
      problem(pods({ matchExpressions: [{ key: 'a', operator: 'In', values: ['ok', 'v'.repeat(64)] }] })),
    ).toMatch(/^selector\.podSelector\.matchExpressions\[0\]\.values\[1\]: /);
    expect(
      problem(pods({ matchLabels: { [`${'p'.repeat(253)}/${'n'.repeat(63)}`]: '', 'a.b_c-d': 'A.b_c-9' } })),
    ).toBeUndefined();
    expect(problem(pods({ matchLabels: { [`${'p'.repeat(254)}/n`]: '' } }))).toMatch(/is not a label key$/);
  });

  it('refuses a name over 63 characters, the longest a namespace label value can be', () => {
    expect(problem({}, 'n'.repeat(63))).toBeUndefined();
    expect(problem({}, 'n'.repeat(64))).toMatch(/^metadata\.name: .* must be at most 63 characters/);
  });

  it('makes compileTemplate throw, naming the field', () => {
    const policy = { metadata: { name: 'p' }, spec: { ...base, proxy: { image: 'envoy:v1 ' } } };
    expect(() => compileTemplate(policy, { nativeSidecars: true, initImage })).toThrow(/^proxy\.image: /);
  });
});

describe('parseQuantity', () => {
  it.each([
    ['1', 1n, 1n],
    ['100m', 100n, 1000n],
    ['0.5', 5n, 10n],
    ['.5', 5n, 10n],
    ['+1', 1n, 1n],
    ['1Ki', 1024n, 1n],
    ['1e3', 1000n, 1n],
    ['2E-1', 2n, 10n],
    ['1.5Gi', 15n * 2n ** 30n, 10n],
    ['3k', 3000n, 1n],
  ] as const)('reads %s', (q, n, d) => {
    const v = parseQuantity(q)!;
    expect(v.n * d).toBe(n * v.d);
  });

  it.each(['', 'lots', '1 ', '1KiB', '1e', '--1', '1e1000'])('refuses %j', (q) => {
    expect(parseQuantity(q)).toBeUndefined();
  });
});

describe('the expressions match the CRD’s', () => {
  const crd = parse(
    readFileSync(join(import.meta.dirname, '..', '..', 'crds', 'sidecar.dev_sidecarpolicies.yaml'), 'utf8'),
  );
  const text = JSON.stringify(crd);
  const cel = (re: RegExp) => `r'${re.source.replaceAll('\\/', '/')}'`;

  it.each([
    ['IMAGE_REFERENCE', IMAGE_REFERENCE],
    ['LABEL_KEY', LABEL_KEY],
    ['LABEL_VALUE', LABEL_VALUE],
  ] as const)('%s', (_name, re) => {
    expect(text).toContain(JSON.stringify(cel(re)).slice(1, -1));
  });
});
