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

  const sidecar = { initContainers: [{ name: 'sidecar-init' }, { name: 'sidecar-proxy' }] };
  const injectedPod = (annotations?: Record<string, string>): Pod => ({
    metadata: annotations ? { annotations } : {},
    spec: { containers: [{ name: 'app' }], ...sidecar },
  });

  it('leaves pods that have the sidecar containers alone, whatever their annotation says', () => {
    const status = { 'sidecar.dev/status': JSON.stringify({ policy: 'mesh', revision: 'abc' }) };
    const d = decideInjection(injectedPod(status), template, ctx);
    expect(d).toMatchObject({ inject: false, reason: 'AlreadyInjected' });
    expect(d.message).toContain('abc');
    const broken = decideInjection(injectedPod({ 'sidecar.dev/status': '{' }), template, ctx);
    expect(broken.reason).toBe('AlreadyInjected');
    const none = decideInjection(injectedPod(), template, ctx);
    expect(none.reason).toBe('AlreadyInjected');
    expect(none.message).toBe(
      'pod already carries a sidecar (containers sidecar-init, sidecar-proxy, without a sidecar.dev/status annotation)',
    );
    // Classic mode puts the proxy among the containers: found there too.
    const classic: Pod = {
      spec: {
        initContainers: [{ name: 'sidecar-init' }],
        containers: [{ name: 'app' }, { name: 'sidecar-proxy' }],
      },
    };
    expect(decideInjection(classic, template, ctx).reason).toBe('AlreadyInjected');
  });

  it('injects a pod whose status annotation claims a sidecar its containers do not have', () => {
    const status = { 'sidecar.dev/status': JSON.stringify({ policy: 'mesh', revision: template.revision }) };
    const d = decideInjection(pod({ annotations: status }), template, ctx);
    expect(d).toEqual({
      inject: true,
      reason: 'Injected',
      message: `pod injected with policy mesh revision ${template.revision}; its sidecar.dev/status annotation named policy mesh revision ${template.revision}, but it had no sidecar containers`,
    });
    expect(decideInjection(pod({ annotations: { 'sidecar.dev/status': '{' } }), template, ctx).inject).toBe(
      true,
    );
    // Nor does the revision label say anything.
    const label = { labels: { 'sidecar.dev/revision': template.revision } };
    expect(decideInjection(pod(label), template, ctx).reason).toBe('Injected');
  });

  it('replaces half a sidecar whole', () => {
    const proxyOnly: Pod = { spec: { containers: [{ name: 'app' }, { name: 'sidecar-proxy' }] } };
    expect(decideInjection(proxyOnly, template, ctx)).toEqual({
      inject: true,
      reason: 'Reinjected',
      message: `pod re-injected with policy mesh revision ${template.revision}, replacing sidecar-proxy, present without sidecar-init`,
    });
  });

  it('re-injects an older revision only when asked', () => {
    const status = { 'sidecar.dev/status': JSON.stringify({ policy: 'mesh', revision: 'old' }) };
    expect(decideInjection(injectedPod(status), template, ctx).reason).toBe('AlreadyInjected');
    const d = decideInjection(injectedPod(status), template, { ...ctx, reinject: true });
    expect(d).toMatchObject({ inject: true, reason: 'Reinjected' });
    expect(decideInjection(injectedPod(), template, { ...ctx, reinject: true }).reason).toBe(
      'AlreadyInjected',
    );
  });

  describe('application containers running as the proxy', () => {
    const withIdentity = (spec: Record<string, unknown>): Pod => ({
      spec: { containers: [{ name: 'app' }], ...spec },
    });
    it.each([
      [
        'a container runs as the proxy UID',
        withIdentity({ containers: [{ name: 'app', securityContext: { runAsUser: 1337 } }] }),
        'container app runs as UID 1337',
      ],
      [
        'a container runs as the proxy GID',
        withIdentity({
          containers: [{ name: 'app', securityContext: { runAsUser: 1000, runAsGroup: 1337 } }],
        }),
        'container app runs as GID 1337',
      ],
      [
        'the pod runs as the proxy UID',
        withIdentity({ securityContext: { runAsUser: 1337 } }),
        'container app runs as UID 1337 (from the pod’s securityContext)',
      ],
      [
        'an app init container runs as the proxy GID',
        withIdentity({ initContainers: [{ name: 'migrate', securityContext: { runAsGroup: 1337 } }] }),
        'init container migrate runs as GID 1337',
      ],
    ])('refuses the pod when %s', (_what, p, detail) => {
      const d = decideInjection(p, template, ctx);
      expect(d).toMatchObject({ inject: false, refuse: true, reason: 'RunsAsProxyIdentity' });
      expect(d.message).toMatch(
        new RegExp(`^pod refused: ${detail.replace(/[()]/g, '\\$&')}, the sidecar proxy’s own`),
      );
      expect(d.message).toContain('sidecar.dev/inject: "false"');
    });

    it('admits a container that overrides the pod’s identity, and follows the policy’s UID', () => {
      const overridden = withIdentity({
        securityContext: { runAsUser: 1337, runAsGroup: 1337 },
        containers: [{ name: 'app', securityContext: { runAsUser: 1000, runAsGroup: 1000 } }],
      });
      expect(decideInjection(overridden, template, ctx).reason).toBe('Injected');
      const other = compileTemplate(
        {
          metadata: { name: 'mesh' },
          spec: { selector: { namespaces: ['apps'] }, proxy: { uid: 2000, gid: 2000 } },
        },
        { nativeSidecars: true, initImage },
      );
      const at1337 = withIdentity({ securityContext: { runAsUser: 1337 } });
      expect(decideInjection(at1337, other, ctx).reason).toBe('Injected');
      expect(decideInjection(withIdentity({ securityContext: { runAsUser: 2000 } }), other, ctx).refuse).toBe(
        true,
      );
    });

    it('does not refuse pods it would not inject, nor where nothing is captured', () => {
      const p = withIdentity({ securityContext: { runAsUser: 1337 } });
      const optedOut = { ...p, metadata: { annotations: { 'sidecar.dev/inject': 'false' } } };
      expect(decideInjection(optedOut, template, ctx).reason).toBe('OptedOut');
      const none = compileTemplate(
        {
          metadata: { name: 'mesh' },
          spec: { selector: { namespaces: ['apps'] }, interception: { mode: 'None' } },
        },
        { nativeSidecars: true, initImage },
      );
      expect(decideInjection(p, none, ctx)).toMatchObject({ inject: true, reason: 'Injected' });
      expect(decideInjection(p, none, ctx).refuse).toBeUndefined();
    });
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

describe('decideInjection with compatibility.istio', () => {
  const compiled = (compatibility: Record<string, unknown>) =>
    compileTemplate(
      {
        metadata: { name: 'mesh' },
        spec: {
          selector: { namespaces: ['apps'], podSelector: { matchLabels: { mesh: 'on' } } },
          compatibility,
        },
      },
      { nativeSidecars: true, initImage },
    );
  const istio = compiled({ istio: true });
  const on = { mesh: 'on' };

  it('changes nothing of a policy without it, not even its revision', () => {
    const plain = compileTemplate(
      { metadata: { name: 'mesh' }, spec: { selector: { namespaces: ['apps'] } } },
      { nativeSidecars: true, initImage },
    );
    const off = compiled({ istio: false });
    expect(off.compatibility).toBeUndefined();
    expect(off.revision).toBe(
      compileTemplate(
        {
          metadata: { name: 'mesh' },
          spec: { selector: { namespaces: ['apps'], podSelector: { matchLabels: on } } },
        },
        { nativeSidecars: true, initImage },
      ).revision,
    );
    const meta = { labels: on, annotations: { 'sidecar.istio.io/inject': 'false' } };
    expect(decideInjection(pod(meta), plain, ctx).reason).toBe('Injected');
    expect(decideInjection(pod(meta), off, ctx).reason).toBe('Injected');
  });

  it('honours sidecar.istio.io/inject both ways; ours opts out first', () => {
    const d = (meta: Pod['metadata']) => decideInjection(pod(meta), istio, ctx);
    expect(d({ labels: on, annotations: { 'sidecar.istio.io/inject': 'false' } })).toMatchObject({
      reason: 'OptedOut',
      message: 'pod opted out with annotation sidecar.istio.io/inject=false',
    });
    expect(d({ labels: { ...on, 'sidecar.istio.io/inject': 'false' } }).reason).toBe('OptedOut');
    expect(d({ labels: { 'sidecar.istio.io/inject': 'true' } }).reason).toBe('Injected');
    expect(d({ annotations: { 'sidecar.istio.io/inject': 'true' } }).reason).toBe('Injected');
    expect(d({ annotations: { 'sidecar.istio.io/inject': 'yes' } }).reason).toBe('PodSelectorMismatch');
    const both = { labels: { 'sidecar.istio.io/inject': 'true', 'sidecar.dev/inject': 'false' } };
    expect(d(both).message).toContain('label sidecar.dev/inject=false');
  });

  it('refuses a malformed Istio annotation only where it would inject', () => {
    const bad = { 'traffic.sidecar.istio.io/excludeOutboundPorts': 'bad' };
    expect(decideInjection(pod({ labels: on, annotations: bad }), istio, ctx)).toMatchObject({
      inject: false,
      refuse: true,
      reason: 'InvalidIstioAnnotation',
    });
    expect(decideInjection(pod({ annotations: bad }), istio, ctx).reason).toBe('PodSelectorMismatch');
    expect(decideInjection(pod({ labels: on, annotations: bad }, true), istio, ctx).reason).toBe(
      'HostNetwork',
    );
  });

  it('reads Istio’s namespace labels when the namespace’s labels are known', () => {
    const p = pod({ labels: on });
    const reason = (t: typeof istio, namespaceLabels: Record<string, string>, namespace = 'web') =>
      decideInjection(p, t, { ...ctx, namespace, namespaceLabels }).reason;
    expect(reason(istio, { 'istio-injection': 'disabled' }, 'apps')).toBe('NamespaceDisabled');
    expect(reason(istio, { 'istio-injection': 'enabled' })).toBe('NamespaceNotSelected');
    const labels = compiled({ istio: true, istioNamespaceLabels: true });
    expect(reason(labels, { 'istio-injection': 'enabled' })).toBe('Injected');
    expect(reason(labels, { 'istio.io/rev': 'default' })).toBe('Injected');
    expect(reason(labels, { 'istio.io/rev': 'canary' })).toBe('NamespaceNotSelected');
    const canary = compiled({ istio: true, istioNamespaceLabels: true, istioRevision: 'canary' });
    expect(reason(canary, { 'istio.io/rev': 'canary' })).toBe('Injected');
    expect(reason(canary, { 'istio-injection': 'enabled', 'istio.io/rev': 'canary' })).toBe(
      'NamespaceNotSelected',
    );
    expect(
      decideInjection(p, istio, { ...ctx, namespaceLabels: { 'istio-injection': 'disabled' } }).message,
    ).toBe('namespace apps is labelled istio-injection=disabled');
  });
});
