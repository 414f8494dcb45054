import { describe, expect, it } from 'vitest';
import type { SidecarPolicy, SidecarPolicyStatus } from '../../api/index.js';
import { WrittenStatus } from './written-status.js';

const policy = (resourceVersion: string, status: SidecarPolicyStatus, uid = 'u1'): SidecarPolicy => ({
  apiVersion: 'sidecar.dev/v1alpha1',
  kind: 'SidecarPolicy',
  metadata: { name: 'mesh', uid, resourceVersion },
  spec: { selector: {} },
  status,
});

describe('WrittenStatus', () => {
  it('stands in for the cache while the cache shows the object the write was computed from', () => {
    const w = new WrittenStatus();
    const cached = policy('10', { revision: 'aaa' });
    w.remember(cached, { revision: 'bbb' });
    expect(w.current(cached).status).toEqual({ revision: 'bbb' });
    // Everything but the status is the cache's.
    expect(w.current(cached).metadata).toBe(cached.metadata);
  });

  it('lets the cache win once it shows any other object: our write come back, or a later change', () => {
    const w = new WrittenStatus();
    w.remember(policy('10', { revision: 'aaa' }), { revision: 'bbb' });
    const caughtUp = policy('11', { revision: 'bbb' });
    expect(w.current(caughtUp)).toBe(caughtUp);
    const later = policy('12', { revision: 'ccc' });
    expect(w.current(later)).toBe(later);
  });

  it('never lends a status to another object of the same name, nor after forget', () => {
    const w = new WrittenStatus();
    w.remember(policy('10', {}), { revision: 'bbb' });
    const recreated = policy('10', {}, 'u2');
    expect(w.current(recreated)).toBe(recreated);
    w.forget('mesh');
    const same = policy('10', {});
    expect(w.current(same)).toBe(same);
  });
});
