import { describe, expect, it } from 'vitest';
import type { SidecarPolicy } from '../api/index.js';
import { configMapKeys, namespaceKeys, policyKeys } from './watches.js';

const pol = (name: string, namespaces: string[], generation = 1): SidecarPolicy => ({
  metadata: { name, generation },
  spec: { selector: { namespaces } },
});

describe('event → key mapping', () => {
  it('a spec change concerns every policy, a finalizer change one, a status change none', () => {
    const a = pol('a', ['x']);
    expect(policyKeys({ type: 'ADDED', object: a })).toBe('all');
    expect(policyKeys({ type: 'MODIFIED', object: pol('a', ['y'], 2), old: a })).toBe('all');
    const fin = { ...a, metadata: { ...a.metadata, finalizers: ['sidecar.dev/cleanup'] } };
    expect(policyKeys({ type: 'MODIFIED', object: fin, old: a })).toEqual(['a']);
    expect(policyKeys({ type: 'MODIFIED', object: { ...a, status: { revision: 'r' } }, old: a })).toEqual([]);
  });

  it('a namespace concerns the policies selecting it and the one whose mark it carries', () => {
    const policies = [pol('a', ['x']), pol('b', ['y']), pol('c', ['x'])];
    const before = { metadata: { name: 'x', labels: { 'sidecar.dev/policy': 'b' } } };
    const after = { metadata: { name: 'x', labels: {} } };
    expect(namespaceKeys({ type: 'MODIFIED', object: after, old: before }, policies)).toEqual([
      'b',
      'a',
      'c',
    ]);
    const phase = { ...after, status: { phase: 'Active' } };
    expect(namespaceKeys({ type: 'MODIFIED', object: phase, old: after }, policies)).toEqual([]);
  });

  it('the ConfigMap concerns all policies unless its data and labels are unchanged', () => {
    const cm = { metadata: { name: 'sidecar-injector' }, data: { a: '1' } };
    expect(configMapKeys({ type: 'MODIFIED', object: { ...cm, data: { a: '2' } }, old: cm })).toBe('all');
    expect(configMapKeys({ type: 'MODIFIED', object: { ...cm }, old: cm })).toEqual([]);
    expect(configMapKeys({ type: 'DELETED', object: cm, old: cm })).toBe('all');
  });
});
