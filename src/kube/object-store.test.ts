import type { KubernetesObject } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { ObjectStore } from './object-store.js';

const obj = (name: string, namespace?: string, rv = '1') => ({
  metadata: { name, ...(namespace ? { namespace } : {}), resourceVersion: rv },
});

describe('ObjectStore', () => {
  it('keeps objects by namespace and name, cluster-scoped ones under no namespace', () => {
    const s = new ObjectStore<KubernetesObject>();
    expect(s.set(obj('a', 'ns1'))).toBeUndefined();
    s.set(obj('a', 'ns2'));
    s.set(obj('b', 'ns1'));
    s.set(obj('node'));
    expect(s.size).toBe(4);
    expect(s.get('a', 'ns2')?.metadata?.namespace).toBe('ns2');
    expect(s.get('node')?.metadata?.name).toBe('node');
    expect(s.get('node', 'ns1')).toBeUndefined();
    expect([...s.inNamespace('ns1')].map((o) => o.metadata?.name)).toEqual(['a', 'b']);
    expect([...s.inNamespace('none')]).toEqual([]);
    expect([...s.values()]).toHaveLength(4);
  });

  it('returns the replaced object and counts it once', () => {
    const s = new ObjectStore<KubernetesObject>();
    const first = obj('a', 'ns', '1');
    s.set(first);
    expect(s.set(obj('a', 'ns', '2'))).toBe(first);
    expect(s.size).toBe(1);
    expect(s.get('a', 'ns')?.metadata?.resourceVersion).toBe('2');
  });

  it('deletes by namespace and name, forgetting emptied namespaces', () => {
    const s = new ObjectStore<KubernetesObject>();
    const a = obj('a', 'ns');
    s.set(a);
    expect(s.delete(obj('missing', 'ns'))).toBeUndefined();
    expect(s.delete(obj('a', 'other'))).toBeUndefined();
    expect(s.delete({ metadata: { name: 'a', namespace: 'ns' } })).toBe(a);
    expect(s.size).toBe(0);
    expect([...s.inNamespace('ns')]).toEqual([]);
  });

  it('sweeps what a relist did not see and returns it', () => {
    const s = new ObjectStore<KubernetesObject>();
    const kept = [obj('a', 'ns1'), obj('c', 'ns2')];
    const gone = [obj('b', 'ns1'), obj('d', 'ns3')];
    for (const o of [...kept, ...gone]) s.set(o);
    const seen = new Set<KubernetesObject>(kept);
    expect(s.sweep((o) => seen.has(o))).toEqual(gone);
    expect(s.size).toBe(2);
    expect([...s.values()]).toEqual(kept);
    expect([...s.inNamespace('ns3')]).toEqual([]);
  });
});
