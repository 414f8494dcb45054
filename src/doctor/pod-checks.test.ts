import { describe, expect, it } from 'vitest';
import { compileTemplate, injectPod, type Container, type Pod } from '../inject/index.js';
import type { DoctorInputs } from './inputs.js';
import { checkPod } from './pod-checks.js';

const template = compileTemplate(
  { metadata: { name: 'mesh' }, spec: { selector: { namespaces: ['shop'] } } },
  { nativeSidecars: true, initImage: 'ghcr.io/sidecar-operator/sidecar-operator:v0.1.0' },
);
const app: Pod = { metadata: { name: 'web' }, spec: { containers: [{ name: 'web', image: 'nginx' }] } };
const injected = injectPod(app, template, { namespace: 'shop', operatorNamespace: 'sidecar-system' }).pod;

function inputs(pod: Pod): DoctorInputs {
  return {
    now: new Date('2026-06-01T00:00:00Z'),
    groupVersions: [],
    crdInstalled: true,
    operatorNamespaceCandidates: [],
    policies: [],
    scope: [],
    webhookConfigurations: [],
    probes: new Map(),
    operatorNamespace: 'sidecar-system',
    templates: { templates: new Map([['mesh', template]]), errors: [] },
    namespace: {
      name: 'shop',
      object: { metadata: { name: 'shop', labels: { 'sidecar.dev/policy': 'mesh' } } },
    },
    pod: { name: 'web', found: true, pod },
  };
}

/** The pod with one container's image swapped. */
function withImage(pod: Pod, name: string, image: string): Pod {
  const swap = (list: Container[]) => list.map((c) => (c.name === name ? { ...c, image } : c));
  const spec = pod.spec!;
  return {
    ...pod,
    spec: { ...spec, initContainers: swap(spec.initContainers ?? []), containers: swap(spec.containers) },
  };
}

describe('checkPod', () => {
  it('passes a pod with the policy’s sidecar at the current revision', () => {
    expect(checkPod(inputs(injected))).toEqual({
      name: 'pod:shop/web',
      status: 'pass',
      reason: `injected by policy mesh at the current revision ${template.revision}`,
    });
  });

  it('fails a pod whose sidecar containers run other images than its annotation’s revision', () => {
    const fake = withImage(injected, 'sidecar-proxy', 'attacker/fake-proxy:1');
    const r = checkPod(inputs(fake));
    expect(r?.status).toBe('fail');
    expect(r?.reason).toBe(
      `its sidecar is not the one policy mesh revision ${template.revision} injects: sidecar-proxy runs attacker/fake-proxy:1, not ${template.proxyContainer.image}; the pod's traffic may not be captured`,
    );
  });

  it('does not take the revision label or the status annotation for a sidecar', () => {
    const claims: Pod = { ...app, metadata: injected.metadata };
    const r = checkPod(inputs(claims));
    expect(r?.status).toBe('warn');
    expect(r?.reason).toMatch(
      new RegExp(
        `^no sidecar; its sidecar.dev/status annotation claims policy mesh revision ${template.revision}, but it would get one if created now \\(Injected\\)`,
      ),
    );
  });

  it('fails half a sidecar, and warns on sidecar containers without an annotation', () => {
    const half: Pod = { ...app, spec: { containers: [...app.spec!.containers, { name: 'sidecar-proxy' }] } };
    expect(checkPod(inputs(half))).toMatchObject({
      status: 'fail',
      reason: "half a sidecar: sidecar-proxy without sidecar-init; the pod's traffic is not captured",
    });
    const unannotated: Pod = { ...injected, metadata: { name: 'web' } };
    expect(checkPod(inputs(unannotated))).toMatchObject({ status: 'warn' });
    expect(checkPod(inputs(unannotated))?.reason).toMatch(/no sidecar.dev\/status annotation/);
  });
});
