import { AppsV1Api, CoreV1Api, Watch, type V1Namespace } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { adminKubeConfig, envtest, eventually, testNamespace, userKubeConfig } from './support.js';

describe('the test control plane is a real Kubernetes API server', () => {
  const kc = adminKubeConfig();
  const core = kc.makeApiClient(CoreV1Api);

  it('reports the version it was built at', () => {
    const { serverVersion, binaries } = envtest();
    expect(serverVersion).toBe(`v${binaries.kubernetesVersion}`);
  });

  it('creates and lists a namespace', async () => {
    const name = await testNamespace('cp-list', { purpose: 'harness' });
    const list = await core.listNamespace({ labelSelector: 'purpose=harness' });
    expect(list.items.map((n) => n.metadata?.name)).toContain(name);
  });

  it('delivers a watch event for a change', async () => {
    const list = await core.listNamespace();
    const events: { type: string; name?: string }[] = [];
    const watch = await new Watch(kc).watch(
      '/api/v1/namespaces',
      { resourceVersion: list.metadata?.resourceVersion, labelSelector: 'purpose=watch' },
      (type: string, obj: V1Namespace) => events.push({ type, name: obj.metadata?.name }),
      () => undefined,
    );
    try {
      const name = await testNamespace('cp-watch', { purpose: 'watch' });
      await eventually(() => events.find((e) => e.type === 'ADDED' && e.name === name), {
        what: 'ADDED event',
      });
    } finally {
      watch.abort();
    }
  });

  it('rejects an invalid object with 422 and the server’s own message', async () => {
    const err = await core
      .createNamespace({ body: { metadata: { name: 'Not_A_Valid_Name' } } })
      .catch((e) => e);
    expect(err.code).toBe(422);
    const status = JSON.parse(err.body as string);
    expect(status.reason).toBe('Invalid');
    expect(status.message).toContain('metadata.name: Invalid value: "Not_A_Valid_Name"');
  });

  it('enforces RBAC: a non-admin identity may not list secrets', async () => {
    const user = (await userKubeConfig('jane', ['developers'])).makeApiClient(CoreV1Api);
    const err = await user.listSecretForAllNamespaces().catch((e) => e);
    expect(err.code).toBe(403);
    expect(JSON.parse(err.body as string).message).toContain('User "jane" cannot list resource "secrets"');
  });

  it('runs the controller manager: a Deployment of 2 replicas yields 2 pods', async () => {
    const ns = await testNamespace('cp-deploy');
    const apps = kc.makeApiClient(AppsV1Api);
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: 'web' },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: { containers: [{ name: 'web', image: 'registry.example/web:1' }] },
          },
        },
      },
    });
    const pods = await eventually(
      async () => {
        const list = await core.listNamespacedPod({ namespace: ns, labelSelector: 'app=web' });
        return list.items.length === 2 ? list.items : undefined;
      },
      { what: '2 pods from the ReplicaSet controller' },
    );
    expect(pods.every((p) => p.metadata?.ownerReferences?.[0]?.kind === 'ReplicaSet')).toBe(true);
  });
});
