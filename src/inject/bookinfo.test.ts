import { describe, expect, it } from 'vitest';
import { compileTemplate, injectPod, type Container, type Pod } from './index.js';
import { SEED_ARGS } from '../iptables/testdata/seed-args.js';

/** The init image the operator would pass; fixed, so that a release's version changes no expectation. */
const initImage = 'ghcr.io/sidecar-operator/sidecar-operator:v0.1.0';

// The seed's bookinfo productpage: one container listening on 9080.
const productpage: Pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'productpage-v1', namespace: 'bookinfo', labels: { app: 'productpage', version: 'v1' } },
  spec: {
    containers: [
      {
        name: 'productpage',
        image: 'docker.io/istio/examples-bookinfo-productpage-v1:1.20.2',
        ports: [{ containerPort: 9080 }],
      },
    ],
  },
};
const policy = { metadata: { name: 'mesh-default' }, spec: { selector: { namespaces: ['bookinfo'] } } };
const ctx = { namespace: 'bookinfo', operatorNamespace: 'sidecar-system' };

function find(list: Container[] | undefined, name: string): Container {
  const c = list?.find((x) => x.name === name);
  if (!c) throw new Error(`no container ${name}`);
  return c;
}

describe.each([true, false])('bookinfo productpage (native sidecars: %s)', (nativeSidecars) => {
  const result = injectPod(productpage, compileTemplate(policy, { nativeSidecars, initImage }), ctx);
  const spec = result.pod.spec!;

  it('runs sidecar-operator iptables with exactly the seed’s flags', () => {
    const init = find(spec.initContainers, 'sidecar-init');
    expect(spec.initContainers?.[0]?.name).toBe('sidecar-init');
    expect(init.command).toEqual(['sidecar-operator']);
    expect(init.args).toEqual(['iptables', ...SEED_ARGS]);
  });

  it('runs the proxy as 1337 with a read-only root filesystem and no privileges', () => {
    const proxy = nativeSidecars
      ? find(spec.initContainers, 'sidecar-proxy')
      : find(spec.containers, 'sidecar-proxy');
    expect(proxy.securityContext).toMatchObject({
      runAsUser: 1337,
      runAsGroup: 1337,
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    if (nativeSidecars) {
      expect(spec.initContainers?.map((c) => c.name)).toEqual(['sidecar-init', 'sidecar-proxy']);
      expect(proxy.restartPolicy).toBe('Always');
      expect(proxy.startupProbe).toMatchObject({ httpGet: { path: '/healthz/ready', port: 15021 } });
      expect(proxy).toHaveProperty('lifecycle.preStop');
    } else {
      expect(spec.containers.map((c) => c.name)).toEqual(['sidecar-proxy', 'productpage']);
      expect(proxy).toHaveProperty('lifecycle.postStart.exec');
      expect(proxy.restartPolicy).toBeUndefined();
    }
  });

  it('gives the proxy a memory-backed emptyDir for its config', () => {
    expect(spec.volumes).toEqual([{ name: 'sidecar-config', emptyDir: { medium: 'Memory' } }]);
  });

  it('records what it added', () => {
    const status = JSON.parse(result.pod.metadata!.annotations!['sidecar.dev/status']!);
    expect(status).toEqual({
      policy: 'mesh-default',
      revision: result.pod.metadata!.labels!['sidecar.dev/revision'],
      initContainers: nativeSidecars ? ['sidecar-init', 'sidecar-proxy'] : ['sidecar-init'],
      containers: nativeSidecars ? [] : ['sidecar-proxy'],
      volumes: ['sidecar-config'],
    });
    expect(status.revision).toMatch(/^[0-9a-f]{10}$/);
  });
});
