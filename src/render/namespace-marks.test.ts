import type { V1Namespace } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { SidecarPolicy } from '../api/index.js';
import { marksInPlace, renderNamespaceMarks, resolveNamespaceMarks } from './namespace-marks.js';

function ns(
  name: string,
  labels: Record<string, string> = {},
  extra: Partial<V1Namespace['metadata']> = {},
): V1Namespace {
  return { metadata: { name, labels: { 'kubernetes.io/metadata.name': name, ...labels }, ...extra } };
}

function pol(
  name: string,
  spec: Partial<SidecarPolicy['spec']>,
  created = '2026-01-01T00:00:00Z',
): SidecarPolicy {
  return {
    metadata: { name, creationTimestamp: created },
    spec: { selector: {}, ...spec },
  };
}

const opts = {
  operatorNamespace: 'ops',
  revisions: new Map([
    ['a', 'r1'],
    ['b', 'r2'],
    ['c', 'r3'],
  ]),
};

describe('resolveNamespaceMarks', () => {
  it('marks exactly the selected, eligible namespaces', () => {
    const r = resolveNamespaceMarks(
      [
        pol('a', {
          selector: {
            namespaces: ['one', 'kube-system', 'ops', 'off'],
            namespaceSelector: { matchLabels: { mesh: 'on' } },
          },
        }),
      ],
      [
        ns('one'),
        ns('two', { mesh: 'on' }),
        ns('three'),
        ns('kube-system'),
        ns('ops'),
        ns('off', { 'sidecar.dev/injection': 'disabled' }),
        ns('gone', { mesh: 'on' }, { deletionTimestamp: new Date() }),
      ],
      opts,
    );
    expect([...r.marks]).toEqual([
      ['one', { policy: 'a', revision: 'r1' }],
      ['two', { policy: 'a', revision: 'r1' }],
    ]);
    expect(r.governed.get('a')).toEqual(['one', 'two']);
    expect(r.conflicts.size).toBe(0);
  });

  it('with compatibility.istio: Istio’s disabled label keeps the policy away, its injection labels select', () => {
    const selector = { namespaces: ['named', 'istio-off'] };
    const namespaces = [
      ns('named'),
      ns('istio-off', { 'istio-injection': 'disabled' }),
      ns('istio-on', { 'istio-injection': 'enabled' }),
      ns('rev-default', { 'istio.io/rev': 'default' }),
      ns('rev-canary', { 'istio.io/rev': 'canary' }),
      // istio-injection wins over istio.io/rev, as in Istio's webhook configurations.
      ns('both', { 'istio-injection': 'enabled', 'istio.io/rev': 'canary' }),
    ];
    const governed = (compatibility: SidecarPolicy['spec']['compatibility']) =>
      resolveNamespaceMarks([pol('a', { selector, compatibility })], namespaces, opts).governed.get('a');
    expect(governed(undefined)).toEqual(['istio-off', 'named']);
    expect(governed({ istio: true })).toEqual(['named']);
    expect(governed({ istio: true, istioNamespaceLabels: true })).toEqual([
      'both',
      'istio-on',
      'named',
      'rev-default',
    ]);
    expect(governed({ istio: true, istioNamespaceLabels: true, istioRevision: 'canary' })).toEqual([
      'named',
      'rev-canary',
    ]);
    // An empty selector (allowed with istioNamespaceLabels): Istio's labels alone select.
    const only = resolveNamespaceMarks(
      [pol('a', { selector: {}, compatibility: { istio: true, istioNamespaceLabels: true } })],
      namespaces,
      opts,
    ).governed.get('a');
    expect(only).toEqual(['both', 'istio-on', 'rev-default']);
  });

  it('gives a namespace to the highest priority, then the older policy, then the name; losers learn who won', () => {
    const policies = [
      pol('c', { selector: { namespaces: ['x', 'y', 'z'] } }, '2026-01-03T00:00:00Z'),
      pol('b', { selector: { namespaces: ['x', 'y'] } }, '2026-01-02T00:00:00Z'),
      pol('a', { selector: { namespaces: ['x'] }, priority: 5 }, '2026-01-05T00:00:00Z'),
    ];
    const r = resolveNamespaceMarks(policies, [ns('x'), ns('y'), ns('z')], opts);
    expect(r.marks.get('x')?.policy).toBe('a');
    expect(r.marks.get('y')?.policy).toBe('b');
    expect(r.marks.get('z')).toEqual({ policy: 'c', revision: 'r3' });
    expect(r.conflicts.get('b')).toEqual([{ namespace: 'x', winner: 'a' }]);
    expect(r.conflicts.get('c')).toEqual([
      { namespace: 'x', winner: 'a' },
      { namespace: 'y', winner: 'b' },
    ]);
    const reversed = resolveNamespaceMarks([...policies].reverse(), [ns('z'), ns('y'), ns('x')], opts);
    expect([...reversed.marks].sort()).toEqual([...r.marks].sort());
    // Same priority and age: the name decides.
    const tie = resolveNamespaceMarks(
      [pol('c', { selector: { namespaces: ['x'] } }), pol('b', { selector: { namespaces: ['x'] } })],
      [ns('x')],
      opts,
    );
    expect(tie.marks.get('x')?.policy).toBe('b');
  });

  it('leaves policies being deleted out', () => {
    const deleting = {
      ...pol('a', { selector: { namespaces: ['x'] }, priority: 9 }),
      metadata: { name: 'a', deletionTimestamp: '2026-01-01T00:00:00Z' },
    };
    const r = resolveNamespaceMarks(
      [deleting, pol('b', { selector: { namespaces: ['x'] } })],
      [ns('x')],
      opts,
    );
    expect(r.marks.get('x')?.policy).toBe('b');
    expect(r.governed.has('a')).toBe(false);
  });

  it('leaves out a policy whose name no namespace label can carry (stored before the CRD refused it)', () => {
    const long = 'l'.repeat(64);
    const r = resolveNamespaceMarks(
      [
        pol(long, { selector: { namespaces: ['x', 'y'] }, priority: 9 }),
        pol('b', { selector: { namespaces: ['x'] } }),
        pol('n'.repeat(63), { selector: { namespaces: ['z'] } }),
      ],
      [ns('x'), ns('y'), ns('z')],
      opts,
    );
    expect(r.marks.get('x')?.policy).toBe('b');
    expect(r.marks.has('y')).toBe(false);
    expect(r.marks.get('z')?.policy).toBe('n'.repeat(63));
    expect(r.governed.has(long)).toBe(false);
    expect(r.conflicts.size).toBe(0);
  });
});

describe('namespace marks apply body', () => {
  it('carries only our label and annotation, or nothing to remove them', () => {
    expect(renderNamespaceMarks('x', { policy: 'a', revision: 'r1' })).toEqual({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name: 'x',
        labels: { 'sidecar.dev/policy': 'a' },
        annotations: { 'sidecar.dev/revision': 'r1' },
      },
    });
    expect(renderNamespaceMarks('x', undefined)).toEqual({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'x' },
    });
    const marked = ns(
      'x',
      { 'sidecar.dev/policy': 'a', team: 't' },
      { annotations: { 'sidecar.dev/revision': 'r1' } },
    );
    expect(marksInPlace(marked, { policy: 'a', revision: 'r1' })).toBe(true);
    expect(marksInPlace(marked, { policy: 'a', revision: 'r2' })).toBe(false);
    expect(marksInPlace(marked, undefined)).toBe(false);
    expect(marksInPlace(ns('y', { team: 't' }), undefined)).toBe(true);
  });
});
