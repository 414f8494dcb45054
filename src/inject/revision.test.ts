import { describe, expect, it } from 'vitest';
import { canonicalJson, compileTemplate } from './index.js';

/** The init image the operator would pass; fixed, so that a release's version changes no expectation. */
const initImage = 'ghcr.io/sidecar-operator/sidecar-operator:v0.1.0';

const spec = {
  selector: { namespaces: ['b', 'a'] },
  injection: {
    allowedOverrides: ['proxyCPU', 'excludeOutboundIPRanges'] as ('proxyCPU' | 'excludeOutboundIPRanges')[],
  },
  proxy: { env: [{ name: 'A', value: '1' }] },
};

describe('revision', () => {
  it('sorts keys at every level and keeps array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, 1], c: null }, u: undefined })).toBe(
      '{"a":{"c":null,"d":[2,1]},"b":1}',
    );
  });

  it('is the same for the same policy whatever the key order or set order', () => {
    const one = compileTemplate({ metadata: { name: 'p' }, spec }, { nativeSidecars: true, initImage });
    const reordered = {
      proxy: { env: [{ value: '1', name: 'A' }] },
      injection: {
        allowedOverrides: ['excludeOutboundIPRanges', 'proxyCPU'] as typeof spec.injection.allowedOverrides,
      },
      selector: { namespaces: ['a', 'b'] },
    };
    const two = compileTemplate(
      { metadata: { name: 'p' }, spec: reordered },
      { nativeSidecars: true, initImage },
    );
    expect(two.revision).toBe(one.revision);
    expect(one.revision).toMatch(/^[0-9a-f]{10}$/);
    // Defaults written out explicitly mean the same policy.
    const explicit = { ...spec, interception: { mode: 'REDIRECT' as const, outboundPort: 15001 } };
    expect(
      compileTemplate({ metadata: { name: 'p' }, spec: explicit }, { nativeSidecars: true, initImage })
        .revision,
    ).toBe(one.revision);
  });

  it('changes with anything a pod would see', () => {
    const base = compileTemplate(
      { metadata: { name: 'p' }, spec },
      { nativeSidecars: true, initImage },
    ).revision;
    const variants = [
      { ...spec, proxy: { ...spec.proxy, image: 'proxy:2' } },
      { ...spec, proxy: { env: [{ name: 'A', value: '2' }] } },
      { ...spec, interception: { excludeOutboundPorts: ['5432'] } },
      { ...spec, injection: { ...spec.injection, holdApplicationUntilProxyStarts: false } },
    ];
    const revisions = variants.map(
      (s) =>
        compileTemplate({ metadata: { name: 'p' }, spec: s }, { nativeSidecars: true, initImage }).revision,
    );
    revisions.push(
      compileTemplate({ metadata: { name: 'p' }, spec }, { nativeSidecars: false, initImage }).revision,
    );
    expect(new Set([base, ...revisions]).size).toBe(revisions.length + 1);
  });

  it('leaves no key for the webhook to default: the template round-trips through JSON', () => {
    const t = compileTemplate({ metadata: { name: 'p' }, spec }, { nativeSidecars: false, initImage });
    expect(JSON.parse(JSON.stringify(t))).toEqual(t);
  });
});
