import { describe, expect, it } from 'vitest';
import type { SidecarPolicy } from '../../api/index.js';
import { configMapKeys, namespaceKeys, podKeys, policyKeys, type Keys } from './watches.js';

const sorted = (k: Keys): string[] | 'all' => (k === 'all' ? k : [...k].sort());

const pol = (name: string, namespaces: string[], generation = 1, priority = 0): SidecarPolicy => ({
  metadata: { name, generation },
  spec: { selector: { namespaces }, priority },
});
const ns = (name: string, labels: Record<string, string> = {}) => ({ metadata: { name, labels } });

describe('event → key mapping', () => {
  const a = pol('a', ['x']);
  const b = pol('b', ['y']);
  const c = pol('c', ['x']);
  const policies = [a, b, c];
  const namespaces = [
    ns('x', { 'sidecar.dev/policy': 'a' }),
    ns('y', { 'sidecar.dev/policy': 'b' }),
    ns('z'),
  ];

  it('creation, deletion and selector or priority changes concern the policy and those it overlaps', () => {
    expect(sorted(policyKeys({ type: 'ADDED', object: a }, policies, namespaces))).toEqual(['a', 'c']);
    expect(policyKeys({ type: 'ADDED', object: b }, policies, namespaces)).toEqual(['b']);
    expect(sorted(policyKeys({ type: 'DELETED', object: c, old: c }, policies, namespaces))).toEqual([
      'a',
      'c',
    ]);
    // Moving from x to y concerns both neighbourhoods.
    const moved = pol('a', ['y'], 2);
    expect(sorted(policyKeys({ type: 'MODIFIED', object: moved, old: a }, policies, namespaces))).toEqual([
      'a',
      'b',
      'c',
    ]);
    const raised = pol('a', ['x'], 2, 5);
    expect(sorted(policyKeys({ type: 'MODIFIED', object: raised, old: a }, policies, namespaces))).toEqual([
      'a',
      'c',
    ]);
  });

  it('another spec change or a finalizer change concerns one policy, a status change none', () => {
    const edited: SidecarPolicy = { ...pol('a', ['x'], 2), spec: { ...a.spec, proxy: { args: ['-v'] } } };
    expect(policyKeys({ type: 'MODIFIED', object: edited, old: a }, policies, namespaces)).toEqual(['a']);
    const fin = { ...a, metadata: { ...a.metadata, finalizers: ['sidecar.dev/cleanup'] } };
    expect(policyKeys({ type: 'MODIFIED', object: fin, old: a }, policies, namespaces)).toEqual(['a']);
    const status = { ...a, status: { revision: 'r' } };
    expect(policyKeys({ type: 'MODIFIED', object: status, old: a }, policies, namespaces)).toEqual([]);
  });

  it('a namespace concerns the policies selecting it and the one whose mark it carries', () => {
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

  it('a template ConfigMap change concerns its policy only', () => {
    const cm = (policy: string, tpl: string, labels: Record<string, string> = {}) => ({
      metadata: { name: `sidecar-injector-${policy}`, labels: { 'sidecar.dev/policy': policy, ...labels } },
      data: { 'template.json': tpl },
    });
    const a1 = cm('a', '1');
    expect(configMapKeys({ type: 'ADDED', object: a1 })).toEqual(['a']);
    expect(configMapKeys({ type: 'MODIFIED', object: cm('a', '2'), old: a1 })).toEqual(['a']);
    expect(configMapKeys({ type: 'MODIFIED', object: { ...a1 }, old: a1 })).toEqual([]);
    expect(configMapKeys({ type: 'MODIFIED', object: cm('a', '1', { x: 'y' }), old: a1 })).toEqual(['a']);
    // Deleted: written again (a live policy) or a leftover (a deleted one).
    expect(configMapKeys({ type: 'DELETED', object: a1, old: a1 })).toEqual(['a']);
    // Without the label (a name too long for a label value): the policy its template names.
    const unlabelled = {
      metadata: { name: 'sidecar-injector-x' },
      data: {
        'template.json': JSON.stringify({ policy: 'long', revision: 'r', proxyContainer: {}, volumes: [] }),
      },
    };
    expect(configMapKeys({ type: 'ADDED', object: unlabelled })).toEqual(['long']);
    expect(configMapKeys({ type: 'ADDED', object: { metadata: { name: 'other' } } })).toEqual([]);
  });

  it('a pod concerns the policy whose mark its namespace carries', () => {
    const cache = { get: (n: string) => namespaces.find((x) => x.metadata.name === n) };
    expect(podKeys('x', cache)).toEqual(['a']);
    expect(podKeys('z', cache)).toEqual([]);
    expect(podKeys('missing', cache)).toEqual([]);
  });
});
