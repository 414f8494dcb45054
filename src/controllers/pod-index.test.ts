import { describe, expect, it } from 'vitest';
import { INJECT_ANNOTATION, REVISION_LABEL, STATUS_ANNOTATION } from '../api/index.js';
import { countPods, podEventMatters, type PodMeta } from '../status/index.js';
import { slimPod } from './pod-index.js';

const status = (revision: string) =>
  JSON.stringify({ revision, initContainers: ['sidecar-init'], containers: ['sidecar-proxy'] });

const full = (
  name: string,
  labels: Record<string, string>,
  annotations: Record<string, string> = {},
): PodMeta => ({
  apiVersion: 'meta.k8s.io/v1',
  kind: 'PartialObjectMetadata',
  metadata: {
    name,
    namespace: 'ns',
    uid: `uid-${name}`,
    resourceVersion: '7',
    generateName: 'web-5d8f-',
    creationTimestamp: new Date('2026-01-01T00:00:00Z'),
    labels,
    annotations: {
      'kubectl.kubernetes.io/last-applied-configuration': 'x'.repeat(4096),
      'prometheus.io/scrape': 'true',
      ...annotations,
    },
    ownerReferences: [
      { apiVersion: 'v1', kind: 'Node', name: 'n', uid: 'u0' },
      {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        name: 'web-5d8f',
        uid: 'u1',
        controller: true,
        blockOwnerDeletion: true,
      },
    ],
    finalizers: ['example.com/hold'],
  },
});

describe('slimPod', () => {
  it('keeps identity, labels, the two annotations read, the controlling owner and deletion', () => {
    const pod = full(
      'p',
      { app: 'web' },
      { [INJECT_ANNOTATION]: 'false', [STATUS_ANNOTATION]: status('r1') },
    );
    pod.metadata!.deletionTimestamp = new Date('2026-01-02T00:00:00Z');
    expect(slimPod(pod)).toEqual({
      metadata: {
        name: 'p',
        namespace: 'ns',
        resourceVersion: '7',
        labels: { app: 'web' },
        annotations: { [INJECT_ANNOTATION]: 'false', [STATUS_ANNOTATION]: status('r1') },
        ownerReferences: [
          { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-5d8f', uid: 'u1', controller: true },
        ],
        deletionTimestamp: new Date('2026-01-02T00:00:00Z'),
      },
    });
  });

  it('leaves out what a pod does not have', () => {
    expect(slimPod({ metadata: { name: 'p', namespace: 'ns', resourceVersion: '1', labels: {} } })).toEqual({
      metadata: { name: 'p', namespace: 'ns', resourceVersion: '1' },
    });
  });

  it('counts and judges events exactly as the whole metadata does', () => {
    const pods = [
      full('injected', { app: 'web', [REVISION_LABEL]: 'r1' }, { [STATUS_ANNOTATION]: status('r1') }),
      full('outdated', { app: 'web', [REVISION_LABEL]: 'r0' }, { [STATUS_ANNOTATION]: status('r0') }),
      full('plain', { app: 'web' }),
      full('opted-out', { app: 'web' }, { [INJECT_ANNOTATION]: 'off' }),
      full('other', { app: 'db' }),
    ];
    const selector = { matchLabels: { app: 'web' } };
    expect(countPods(pods.map(slimPod), 'r1', selector)).toEqual(countPods(pods, 'r1', selector));
    expect(countPods(pods.map(slimPod), 'r1', selector)).toEqual({ injected: 2, outdated: 1, uninjected: 1 });
    const before = full('p', { app: 'web' });
    const after = full('p', { app: 'web' }, { 'prometheus.io/scrape': 'false' });
    expect(podEventMatters({ type: 'MODIFIED', object: slimPod(after), old: slimPod(before) })).toBe(false);
    const optOut = full('p', { app: 'web' }, { [INJECT_ANNOTATION]: 'false' });
    expect(podEventMatters({ type: 'MODIFIED', object: slimPod(optOut), old: slimPod(before) })).toBe(true);
  });
});
