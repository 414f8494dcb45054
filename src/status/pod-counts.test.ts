import { describe, expect, it } from 'vitest';
import { countPods, isOutdated, podEventMatters, type PodMeta } from './pod-counts.js';

const pod = (
  name: string,
  labels: Record<string, string> = {},
  annotations: Record<string, string> = {},
): PodMeta => ({ metadata: { name, namespace: 'ns', labels, annotations } });

/** What the webhook writes: the revision label and a status annotation naming the proxy. */
const injected = (name: string, revision: string, labels: Record<string, string> = {}): PodMeta =>
  pod(
    name,
    { ...labels, 'sidecar.dev/revision': revision },
    {
      'sidecar.dev/status': JSON.stringify({
        policy: 'mesh',
        revision,
        initContainers: ['sidecar-init', 'sidecar-proxy'],
        containers: [],
        volumes: ['sidecar-config'],
      }),
    },
  );

describe('countPods', () => {
  it('counts injected, outdated and uninjected pods from metadata', () => {
    const pods = [
      injected('current', 'r2'),
      injected('stale', 'r1'),
      pod('missed', { app: 'web' }),
      pod('other-app', { app: 'db' }),
      pod('opted-out-label', { app: 'web', 'sidecar.dev/inject': 'false' }),
      pod('opted-out-annotation', { app: 'web' }, { 'sidecar.dev/inject': 'Off' }),
      {
        metadata: {
          ...injected('deleting', 'r1').metadata,
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

describe('what counts as injected', () => {
  const status = (v: Record<string, unknown>) => ({ 'sidecar.dev/status': JSON.stringify(v) });
  const spoofs: [string, PodMeta][] = [
    ['the revision label alone', pod('label', { app: 'web', 'sidecar.dev/revision': 'r1' })],
    [
      'a status annotation at another revision than the label',
      pod(
        'mismatch',
        { app: 'web', 'sidecar.dev/revision': 'r1' },
        status({ revision: 'r2', initContainers: ['sidecar-proxy'] }),
      ),
    ],
    [
      'a status annotation that names no proxy',
      pod(
        'no-proxy',
        { app: 'web', 'sidecar.dev/revision': 'r1' },
        status({ revision: 'r1', initContainers: ['sidecar-init'], containers: ['app'] }),
      ),
    ],
    [
      'an unreadable status annotation',
      pod('broken', { app: 'web', 'sidecar.dev/revision': 'r1' }, { 'sidecar.dev/status': '{' }),
    ],
  ];
  it.each(spoofs)('not %s: the pod counts as uninjected, and is never outdated', (_what, p) => {
    expect(countPods([p], 'r2', { matchLabels: { app: 'web' } })).toEqual({
      injected: 0,
      outdated: 0,
      uninjected: 1,
    });
    expect(isOutdated(p, 'r2')).toBe(false);
  });

  it('a classic proxy (among the containers) counts', () => {
    const classic = pod(
      'classic',
      { 'sidecar.dev/revision': 'r1' },
      status({ revision: 'r1', initContainers: ['sidecar-init'], containers: ['sidecar-proxy'] }),
    );
    expect(countPods([classic], 'r2', undefined)).toEqual({ injected: 1, outdated: 1, uninjected: 0 });
    expect(isOutdated(classic, 'r2')).toBe(true);
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
