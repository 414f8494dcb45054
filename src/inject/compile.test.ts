import { describe, expect, it } from 'vitest';
import { compileTemplate } from './index.js';

/** The init image the operator would pass; fixed, so that a release's version changes no expectation. */
const initImage = 'ghcr.io/sidecar-operator/sidecar-operator:v0.1.0';

const policy = { metadata: { name: 'p' }, spec: { selector: { namespaces: ['a'] } } };

describe('compileTemplate and the API server’s features', () => {
  it('gives the native proxy a preStop sleep where the server accepts the sleep action', () => {
    const t = compileTemplate(policy, { nativeSidecars: true, initImage });
    expect(t.sidecarMode).toBe('Native');
    expect((t.proxyContainer.lifecycle as { preStop?: unknown } | undefined)?.preStop).toEqual({
      sleep: { seconds: 5 },
    });
  });

  it('leaves the preStop out on a server without the sleep action (1.29), and the revision differs', () => {
    const with_ = compileTemplate(policy, { nativeSidecars: true, initImage, sleepAction: true });
    const without = compileTemplate(policy, { nativeSidecars: true, initImage, sleepAction: false });
    expect(without.sidecarMode).toBe('Native');
    expect(without.proxyContainer.restartPolicy).toBe('Always');
    expect(without.proxyContainer.lifecycle).toBeUndefined();
    expect(without.revision).not.toBe(with_.revision);
  });

  it('resolves Auto to Classic without native sidecars', () => {
    expect(compileTemplate(policy, { nativeSidecars: false, initImage }).sidecarMode).toBe('Classic');
  });
});

describe('compileTemplate and the init image', () => {
  const opts = { nativeSidecars: true, initImage: 'registry.example/sidecar-operator:v9.9.9' };

  it('gives sidecar-init the operator’s image when the policy names none', () => {
    const t = compileTemplate(policy, opts);
    expect(t.initContainer?.image).toBe('registry.example/sidecar-operator:v9.9.9');
  });

  it('keeps the policy’s init.image over the operator’s', () => {
    const named = { ...policy, spec: { ...policy.spec, init: { image: 'registry.example/init:pinned' } } };
    expect(compileTemplate(named, opts).initContainer?.image).toBe('registry.example/init:pinned');
  });

  it('changes the revision with the operator’s image, so an upgrade marks injected pods outdated', () => {
    const before = compileTemplate(policy, { ...opts, initImage: 'registry.example/sidecar-operator:v1' });
    const after = compileTemplate(policy, { ...opts, initImage: 'registry.example/sidecar-operator:v2' });
    expect(after.revision).not.toBe(before.revision);
  });
});
