import { describe, expect, it } from 'vitest';
import { countPods, type PodMeta } from './pod-counts.js';
import { podEventMatters } from './pod-index.js';

const pod = (
  name: string,
  labels: Record<string, string> = {},
  annotations: Record<string, string> = {},
): PodMeta => ({ metadata: { name, namespace: 'ns', labels, annotations } });

describe('countPods', () => {
  it('counts injected, outdated and uninjected pods from metadata', () => {
    const pods = [
      pod('current', { 'sidecar.dev/revision': 'r2' }),
      pod('stale', { 'sidecar.dev/revision': 'r1' }),
      pod('missed', { app: 'web' }),
      pod('other-app', { app: 'db' }),
      pod('opted-out-label', { app: 'web', 'sidecar.dev/inject': 'false' }),
      pod('opted-out-annotation', { app: 'web' }, { 'sidecar.dev/inject': 'Off' }),
      {
        metadata: {
          name: 'deleting',
          labels: { 'sidecar.dev/revision': 'r1' },
          deletionTimestamp: new Date(0),
        },
      },
    ];
    expect(countPods(pods, 'r2', { matchLabels: { app: 'web' } })).toEqual({
      injected: 2,
      outdated: 1,
      uninjected: 1,
    });
    expect(countPods(pods, 'r2', undefined)).toEqual({ injected: 2, outdated: 1, uninjected: 2 });
    expect(countPods([], 'r2', undefined)).toEqual({ injected: 0, outdated: 0, uninjected: 0 });
  });
});

describe('podEventMatters', () => {
  const p = pod('a', { app: 'web' });
  it('creation, deletion, label, opt-out, owner and deletion-start changes matter; the rest does not', () => {
    expect(podEventMatters({ type: 'ADDED', object: p })).toBe(true);
    expect(podEventMatters({ type: 'DELETED', object: p, old: p })).toBe(true);
    const relabelled = pod('a', { app: 'web', 'sidecar.dev/revision': 'r' });
    expect(podEventMatters({ type: 'MODIFIED', object: relabelled, old: p })).toBe(true);
    const optOut = pod('a', { app: 'web' }, { 'sidecar.dev/inject': 'false' });
    expect(podEventMatters({ type: 'MODIFIED', object: optOut, old: p })).toBe(true);
    const deleting = { metadata: { ...p.metadata, deletionTimestamp: new Date(0) } };
    expect(podEventMatters({ type: 'MODIFIED', object: deleting, old: p })).toBe(true);
    const other = pod('a', { app: 'web' }, { 'prometheus.io/scrape': 'true' });
    expect(podEventMatters({ type: 'MODIFIED', object: other, old: p })).toBe(false);
    expect(podEventMatters({ type: 'MODIFIED', object: { ...p }, old: p })).toBe(false);
  });
});
