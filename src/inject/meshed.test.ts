import { describe, expect, it } from 'vitest';
import { compileTemplate, decideInjection, injectPod, type Container, type Pod } from './index.js';

const initImage = 'ghcr.io/sidecar-operator/sidecar-operator:v0.1.0';
const compile = (name: string) =>
  compileTemplate(
    { metadata: { name }, spec: { selector: { namespaces: ['apps'] } } },
    { nativeSidecars: true, initImage },
  );
const mesh = compile('mesh');
const ctx = { namespace: 'apps', operatorNamespace: 'sidecar-system' };

const c = (name: string): Container => ({ name, image: `registry.example/${name}:1` });

function pod(containers: string[], initContainers?: string[], annotations?: Record<string, string>): Pod {
  return {
    metadata: { name: 'web', ...(annotations ? { annotations } : {}) },
    spec: {
      containers: containers.map(c),
      ...(initContainers ? { initContainers: initContainers.map(c) } : {}),
    },
  };
}

const statusOf = (policy: string, revision: string) => ({
  'sidecar.dev/status': JSON.stringify({
    policy,
    revision,
    initContainers: ['sidecar-init', 'sidecar-proxy'],
    containers: [],
    volumes: ['sidecar-config'],
  }),
});

describe('AlreadyMeshed', () => {
  it.each([
    ['Istio classic', pod(['app', 'istio-proxy'], ['istio-init']), 'Istio: istio-init, istio-proxy'],
    ['Istio native', pod(['app'], ['istio-init', 'istio-proxy']), 'Istio: istio-init, istio-proxy'],
    ['Istio with its CNI', pod(['app', 'istio-proxy'], ['istio-validation']), 'Istio: istio-validation'],
    ['an Istio gateway', pod(['istio-proxy']), 'Istio: istio-proxy'],
    ['Linkerd', pod(['linkerd-proxy', 'app'], ['linkerd-init']), 'Linkerd: linkerd-init, linkerd-proxy'],
    [
      'ours under another policy',
      pod(['app'], ['sidecar-init', 'sidecar-proxy'], statusOf('other', 'abc')),
      'of policy other',
    ],
  ])('skips a pod with %s', (_what, p, detail) => {
    for (const reinject of [false, true]) {
      const result = injectPod(p, mesh, { ...ctx, reinject });
      expect(result.decision).toMatchObject({ inject: false, reason: 'AlreadyMeshed' });
      expect(result.decision.message).toContain(detail);
      expect(result.decision.message).toMatch(/another mesh’s sidecar/);
      expect(result.patch).toEqual([]);
      expect(result.pod).toBe(p);
    }
  });

  it('leaves a pod carrying this policy’s sidecar to AlreadyInjected and Reinjected', () => {
    const ours = pod(['app'], ['sidecar-init', 'sidecar-proxy'], statusOf('mesh', 'old'));
    expect(decideInjection(ours, mesh, ctx).reason).toBe('AlreadyInjected');
    expect(decideInjection(ours, mesh, { ...ctx, reinject: true }).reason).toBe('Reinjected');
    // Our containers without a status annotation are ours too: whole, left alone; half, replaced.
    expect(decideInjection(pod(['app'], ['sidecar-init', 'sidecar-proxy']), mesh, ctx).reason).toBe(
      'AlreadyInjected',
    );
    const unreadable = pod(['app'], ['sidecar-init'], { 'sidecar.dev/status': '{' });
    expect(decideInjection(unreadable, mesh, ctx).inject).toBe(true);
  });

  it('goes by the containers, not by annotations the pod’s author could set', () => {
    const claimed = pod(['app'], undefined, { 'sidecar.istio.io/status': '{"containers":["istio-proxy"]}' });
    expect(decideInjection(claimed, mesh, ctx).reason).toBe('Injected');
    // Names are matched exactly: an app container that merely starts like a mesh's is the app's.
    expect(decideInjection(pod(['istio-proxy-exporter', 'linkerd']), mesh, ctx).reason).toBe('Injected');
  });

  it('comes after the rules that never inject, so their reasons stay the more precise ones', () => {
    const host: Pod = { spec: { hostNetwork: true, containers: [c('app'), c('istio-proxy')] } };
    expect(decideInjection(host, mesh, ctx).reason).toBe('HostNetwork');
    const out = pod(['app', 'istio-proxy'], undefined, { 'sidecar.dev/inject': 'false' });
    expect(decideInjection(out, mesh, ctx).reason).toBe('OptedOut');
  });

  it('is a pod injected by one policy, for every other policy', () => {
    const injected = injectPod(pod(['app']), compile('first'), ctx).pod;
    const second = compile('second');
    expect(decideInjection(injected, second, ctx)).toMatchObject({ reason: 'AlreadyMeshed' });
    expect(decideInjection(injected, second, { ...ctx, reinject: true }).message).toContain('policy first');
  });
});
