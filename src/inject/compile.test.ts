import { describe, expect, it } from 'vitest';
import { compileTemplate } from './index.js';

const policy = { metadata: { name: 'p' }, spec: { selector: { namespaces: ['a'] } } };

describe('compileTemplate and the API server’s features', () => {
  it('gives the native proxy a preStop sleep where the server accepts the sleep action', () => {
    const t = compileTemplate(policy, { nativeSidecars: true });
    expect(t.sidecarMode).toBe('Native');
    expect(t.proxyContainer.lifecycle?.preStop).toEqual({ sleep: { seconds: 5 } });
  });

  it('leaves the preStop out on a server without the sleep action (1.29), and the revision differs', () => {
    const with_ = compileTemplate(policy, { nativeSidecars: true, sleepAction: true });
    const without = compileTemplate(policy, { nativeSidecars: true, sleepAction: false });
    expect(without.sidecarMode).toBe('Native');
    expect(without.proxyContainer.restartPolicy).toBe('Always');
    expect(without.proxyContainer.lifecycle).toBeUndefined();
    expect(without.revision).not.toBe(with_.revision);
  });

  it('resolves Auto to Classic without native sidecars', () => {
    expect(compileTemplate(policy, { nativeSidecars: false }).sidecarMode).toBe('Classic');
  });
});
