import { describe, expect, it } from 'vitest';
import { compileTemplate, decideInjection, type Pod } from './index.js';

/** The init image the operator would pass; fixed, so that a release's version changes no expectation. */
const initImage = 'ghcr.io/sidecar-operator/sidecar-operator:v0.1.0';

const template = compileTemplate(
  {
    metadata: { name: 'mesh' },
    spec: {
      selector: {
        namespaces: ['apps'],
        namespaceSelector: { matchLabels: { mesh: 'on' } },
        podSelector: { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['batch'] }] },
      },
    },
  },
  { nativeSidecars: true, initImage },
);
const ctx = { namespace: 'apps', operatorNamespace: 'sidecar-system' };

function pod(meta: Pod['metadata'] = {}, hostNetwork = false): Pod {
  return { metadata: meta, spec: { hostNetwork, containers: [{ name: 'app' }] } };
}

describe('decideInjection', () => {
  it.each([
    ['kube-system', 'ExcludedNamespace'],
    ['kube-public', 'ExcludedNamespace'],
    ['kube-node-lease', 'ExcludedNamespace'],
    ['sidecar-system', 'ExcludedNamespace'],
    ['apps', 'Injected'],
  ])('in namespace %s: %s', (namespace, reason) => {
    const d = decideInjection(pod(), template, { ...ctx, namespace });
    expect(d.reason).toBe(reason);
    expect(d.inject).toBe(reason === 'Injected');
    expect(d.message).toContain(reason === 'Injected' ? 'mesh' : namespace);
  });

  it('never injects hostNetwork pods', () => {
    expect(decideInjection(pod({}, true), template, ctx)).toMatchObject({
      inject: false,
      reason: 'HostNetwork',
    });
  });

  it.each([
    [{ labels: { 'sidecar.dev/inject': 'false' } }, 'label sidecar.dev/inject=false'],
    [{ annotations: { 'sidecar.dev/inject': 'false' } }, 'annotation sidecar.dev/inject=false'],
    [{ annotations: { 'sidecar.dev/inject': 'No' } }, 'annotation sidecar.dev/inject=No'],
  ])('honours opt-out %j', (meta, what) => {
    const d = decideInjection(pod(meta), template, ctx);
    expect(d).toMatchObject({ inject: false, reason: 'OptedOut' });
    expect(d.message).toContain(what);
  });

  it('does not take "true" for an opt-out', () => {
    expect(
      decideInjection(pod({ annotations: { 'sidecar.dev/inject': 'true' } }), template, ctx).inject,
    ).toBe(true);
  });

  it('leaves injected pods alone, even with an unreadable status', () => {
    const status = { 'sidecar.dev/status': JSON.stringify({ policy: 'mesh', revision: 'abc' }) };
    const d = decideInjection(pod({ annotations: status }), template, ctx);
    expect(d).toMatchObject({ inject: false, reason: 'AlreadyInjected' });
    expect(d.message).toContain('abc');
    const broken = decideInjection(pod({ annotations: { 'sidecar.dev/status': '{' } }), template, ctx);
    expect(broken.reason).toBe('AlreadyInjected');
  });

  it('re-injects an older revision only when asked', () => {
    const status = { 'sidecar.dev/status': JSON.stringify({ policy: 'mesh', revision: 'old' }) };
    const d = decideInjection(pod({ annotations: status }), template, { ...ctx, reinject: true });
    expect(d).toMatchObject({ inject: true, reason: 'Reinjected' });
  });

  it('applies the pod selector', () => {
    const d = decideInjection(pod({ labels: { tier: 'batch' } }), template, ctx);
    expect(d).toMatchObject({ inject: false, reason: 'PodSelectorMismatch' });
  });

  it('checks namespace selection when the namespace labels are known', () => {
    const other = { ...ctx, namespace: 'web' };
    expect(decideInjection(pod(), template, { ...other, namespaceLabels: {} }).reason).toBe(
      'NamespaceNotSelected',
    );
    expect(decideInjection(pod(), template, { ...other, namespaceLabels: { mesh: 'on' } }).reason).toBe(
      'Injected',
    );
    expect(decideInjection(pod(), template, { ...ctx, namespaceLabels: {} }).reason).toBe('Injected');
    const disabled = { mesh: 'on', 'sidecar.dev/injection': 'disabled' };
    expect(decideInjection(pod(), template, { ...ctx, namespaceLabels: disabled }).reason).toBe(
      'NamespaceDisabled',
    );
    // Unknown labels: the webhook is only called for governed namespaces.
    expect(decideInjection(pod(), template, other).reason).toBe('Injected');
  });
});
