import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  MAX_ANNOTATIONS_SIZE,
  MAX_KEY_LENGTH,
  MAX_LABEL_VALUE_LENGTH,
  MAX_LIST_ITEMS,
  MAX_MAP_ENTRIES,
  MAX_NAME_LENGTH,
  readPod,
} from './pod-shape.js';

const testdata = join(import.meta.dirname, '..', 'inject', 'testdata');
const golden = (name: string): Record<string, unknown> =>
  (parse(readFileSync(join(testdata, `${name}.in.yaml`), 'utf8')) as { pod: Record<string, unknown> }).pod;

const pod = (metadata: unknown = {}, spec: unknown = { containers: [{ name: 'app' }] }) => ({
  metadata,
  spec,
});
const withContainer = (c: Record<string, unknown>) => pod({}, { containers: [{ name: 'app', ...c }] });
/** Parsed as the server would: building a map this large key by key takes seconds. */
const entries = (n: number): Record<string, string> =>
  JSON.parse(`{${Array.from({ length: n }, (_, i) => `"k${i}":""`).join(',')}}`);

describe('readPod', () => {
  it('accepts the pods the injection goldens hold, and returns them as they are', () => {
    for (const name of ['bookinfo-productpage-native', 'already-injected', 'override-allowed', 'job']) {
      const p = golden(name);
      expect(readPod(p), name).toBe(p);
    }
    expect(typeof readPod({})).toBe('object');
    expect(typeof readPod(pod({ creationTimestamp: null }))).toBe('object');
  });

  const refused: [string, Record<string, unknown>, string][] = [
    ['metadata a string', { metadata: 'x' }, 'request.object.metadata: must be an object, not a string'],
    [
      'annotations a string',
      pod({ annotations: 'x' }),
      'request.object.metadata.annotations: must be a map of strings, not a string',
    ],
    [
      'labels an array',
      pod({ labels: ['a'] }),
      'request.object.metadata.labels: must be a map of strings, not an array',
    ],
    [
      'labels null',
      pod({ labels: null }),
      'request.object.metadata.labels: must be a map of strings, not null',
    ],
    [
      'a label value a number',
      pod({ labels: { app: 1 } }),
      'request.object.metadata.labels["app"]: must be a string, not a number',
    ],
    [
      'an annotation value an object',
      pod({ annotations: { 'a/b': {} } }),
      'request.object.metadata.annotations["a/b"]: must be a string, not an object',
    ],
    ['name a number', pod({ name: 7 }), 'request.object.metadata.name: must be a string, not a number'],
    [
      'generateName too long',
      pod({ generateName: 'g'.repeat(MAX_NAME_LENGTH + 1) }),
      `request.object.metadata.generateName: ${MAX_NAME_LENGTH + 1} characters, more than ${MAX_NAME_LENGTH}`,
    ],
    [
      'ownerReferences an object',
      pod({ ownerReferences: {} }),
      'request.object.metadata.ownerReferences: must be an array, not an object',
    ],
    [
      'an owner not an object',
      pod({ ownerReferences: ['x'] }),
      'request.object.metadata.ownerReferences[0]: must be an object, not a string',
    ],
    [
      'owner controller a string',
      pod({ ownerReferences: [{ controller: 'true' }] }),
      'request.object.metadata.ownerReferences[0].controller: must be a boolean, not a string',
    ],
    ['spec an array', { spec: [] }, 'request.object.spec: must be an object, not an array'],
    ['containers missing', pod({}, {}), 'request.object.spec.containers: must be an array, is missing'],
    [
      'containers a string',
      pod({}, { containers: 'app' }),
      'request.object.spec.containers: must be an array, not a string',
    ],
    [
      'a container a string',
      pod({}, { containers: ['app'] }),
      'request.object.spec.containers[0]: must be an object, not a string',
    ],
    [
      'a container without a name',
      pod({}, { containers: [{ image: 'x' }] }),
      'request.object.spec.containers[0].name: must be a string, is missing',
    ],
    [
      'an init container named by a number',
      pod({}, { containers: [], initContainers: [{ name: 1 }] }),
      'request.object.spec.initContainers[0].name: must be a string, not a number',
    ],
    [
      'volumes an object',
      pod({}, { containers: [], volumes: {} }),
      'request.object.spec.volumes: must be an array, not an object',
    ],
    [
      'hostNetwork a string',
      pod({}, { containers: [], hostNetwork: 'true' }),
      'request.object.spec.hostNetwork: must be a boolean, not a string',
    ],
    [
      'pod runAsUser a string',
      pod({}, { containers: [], securityContext: { runAsUser: '1337' } }),
      'request.object.spec.securityContext.runAsUser: must be an integer, not a string',
    ],
    [
      'env a string',
      withContainer({ env: 'A=1' }),
      'request.object.spec.containers[0].env: must be an array, not a string',
    ],
    [
      'an env var without a name',
      withContainer({ env: [{ value: '1' }] }),
      'request.object.spec.containers[0].env[0].name: must be a string, is missing',
    ],
    [
      'a port number a string',
      withContainer({ ports: [{ containerPort: '80' }] }),
      'request.object.spec.containers[0].ports[0].containerPort: must be an integer, not a string',
    ],
    [
      'runAsGroup a fraction',
      withContainer({ securityContext: { runAsGroup: 1.5 } }),
      'request.object.spec.containers[0].securityContext.runAsGroup: must be an integer, not a number',
    ],
    [
      'image an array',
      withContainer({ image: ['x'] }),
      'request.object.spec.containers[0].image: must be a string, not an array',
    ],
  ];
  it.each(refused)('refuses %s, naming the path', (_what, object, reason) => {
    expect(readPod(object)).toBe(reason);
  });

  it('holds every bound just above the API server’s own limits, and no further', () => {
    const key = 'k'.repeat(MAX_KEY_LENGTH);
    expect(typeof readPod(pod({ labels: { [key]: 'v'.repeat(MAX_LABEL_VALUE_LENGTH) } }))).toBe('object');
    expect(readPod(pod({ labels: { [`${key}k`]: '' } }))).toBe(
      `request.object.metadata.labels: a key of ${MAX_KEY_LENGTH + 1} characters, more than ${MAX_KEY_LENGTH}`,
    );
    expect(readPod(pod({ labels: { app: 'v'.repeat(MAX_LABEL_VALUE_LENGTH + 1) } }))).toBe(
      `request.object.metadata.labels["app"]: ${MAX_LABEL_VALUE_LENGTH + 1} characters, more than ${MAX_LABEL_VALUE_LENGTH}`,
    );
    // Annotations: 256 KiB is what the API server takes; 1 MiB in all is the bound here.
    expect(typeof readPod(pod({ annotations: { a: 'v'.repeat(MAX_ANNOTATIONS_SIZE - 1) } }))).toBe('object');
    expect(
      readPod(
        pod({
          annotations: { a: 'v'.repeat(MAX_ANNOTATIONS_SIZE / 2), b: 'v'.repeat(MAX_ANNOTATIONS_SIZE / 2) },
        }),
      ),
    ).toBe(`request.object.metadata.annotations: more than ${MAX_ANNOTATIONS_SIZE} characters in all`);
    expect(typeof readPod(pod({ labels: entries(MAX_MAP_ENTRIES) }))).toBe('object');
    expect(readPod(pod({ labels: entries(MAX_MAP_ENTRIES + 1) }))).toBe(
      `request.object.metadata.labels: more than ${MAX_MAP_ENTRIES} entries`,
    );
    const containers = Array.from({ length: MAX_LIST_ITEMS + 1 }, (_, i) => ({ name: `c${i}` }));
    expect(readPod(pod({}, { containers }))).toBe(
      `request.object.spec.containers: ${MAX_LIST_ITEMS + 1} items, more than ${MAX_LIST_ITEMS}`,
    );
    expect(typeof readPod(pod({}, { containers: containers.slice(1) }))).toBe('object');
  }, 30_000);

  it('never echoes a long key back in the reason', () => {
    const key = 'x'.repeat(500);
    const reason = readPod(pod({ annotations: { [key]: 5 } }));
    expect(reason).toBe(
      `request.object.metadata.annotations["${'x'.repeat(60)}..."]: must be a string, not a number`,
    );
  });

  it('refuses a 1,000,000-character string as annotations or labels in well under 100 ms', () => {
    for (const field of ['annotations', 'labels']) {
      const object = JSON.parse(JSON.stringify(pod({ [field]: 'a'.repeat(1_000_000) })));
      const started = performance.now();
      const reason = readPod(object);
      expect(performance.now() - started).toBeLessThan(100);
      expect(reason).toBe(`request.object.metadata.${field}: must be a map of strings, not a string`);
    }
  });
});
