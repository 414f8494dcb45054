import { describe, expect, it } from 'vitest';
import { compileTemplate, injectPod, type Pod, type PolicyInput } from './index.js';

const initImage = 'ghcr.io/sidecar-operator/sidecar-operator:v0.1.0';
const ctx = { namespace: 'apps', operatorNamespace: 'sidecar-system' };
const policy = (interception: Record<string, unknown> = {}): PolicyInput => ({
  metadata: { name: 'mesh' },
  spec: {
    selector: { namespaces: ['apps'] },
    injection: { allowedOverrides: ['interceptionMode'] },
    interception,
  },
});
const pod = (annotations: Record<string, string> = {}): Pod => ({
  metadata: { name: 'p', annotations },
  spec: { containers: [{ name: 'app', image: 'nginx' }] },
});
const proxyOf = (p: Pod) => p.spec?.initContainers?.find((c) => c.name === 'sidecar-proxy');

describe('injectPod', () => {
  it('gives a proxy switched to TPROXY by annotation the capabilities a TPROXY policy gives it', () => {
    const redirect = compileTemplate(policy(), { nativeSidecars: true, initImage });
    const tproxy = compileTemplate(policy({ mode: 'TPROXY' }), { nativeSidecars: true, initImage });
    const mode = (m: string) => ({ 'traffic.sidecar.dev/interceptionMode': m });

    const switched = injectPod(pod(mode('TPROXY')), redirect, ctx);
    expect(switched.warnings).toEqual([]);
    expect(switched.pod.spec?.initContainers?.[0]?.args).toContain('TPROXY');
    expect(proxyOf(switched.pod)?.securityContext).toEqual(tproxy.proxyContainer.securityContext);
    expect(proxyOf(switched.pod)?.securityContext).toMatchObject({ capabilities: { add: ['NET_ADMIN'] } });
    // The template is not changed for the next pod.
    expect(redirect.proxyContainer.securityContext).toMatchObject({ capabilities: { drop: ['ALL'] } });
    expect(proxyOf(injectPod(pod(), redirect, ctx).pod)).toEqual(redirect.proxyContainer);

    // And back: a TPROXY policy's pod switched to REDIRECT does not keep NET_ADMIN.
    const back = injectPod(pod(mode('REDIRECT')), tproxy, ctx);
    expect(proxyOf(back.pod)?.securityContext).toEqual(redirect.proxyContainer.securityContext);
    expect(proxyOf(injectPod(pod(mode('TPROXY')), tproxy, ctx).pod)).toEqual(tproxy.proxyContainer);
  });

  it('never removes what a forged status annotation names', () => {
    const template = compileTemplate(policy(), { nativeSidecars: true, initImage });
    const forged = JSON.stringify({
      policy: 'mesh',
      revision: 'old',
      initContainers: ['migrate'],
      containers: ['app'],
      volumes: ['data'],
    });
    const p: Pod = {
      metadata: { name: 'p', annotations: { 'sidecar.dev/status': forged } },
      spec: {
        initContainers: [{ name: 'migrate' }],
        containers: [{ name: 'app' }],
        volumes: [{ name: 'data', emptyDir: {} }],
      },
    };
    for (const reinject of [false, true]) {
      const out = injectPod(p, template, { ...ctx, reinject });
      expect(out.decision.reason).toBe('Injected');
      expect(out.pod.spec?.initContainers?.map((c) => c.name)).toEqual([
        'sidecar-init',
        'sidecar-proxy',
        'migrate',
      ]);
      expect(out.pod.spec?.containers.map((c) => c.name)).toEqual(['app']);
      expect(out.pod.spec?.volumes?.map((v) => v.name)).toEqual(['data', 'sidecar-config']);
    }
  });
});
