import { CoreV1Api, type V1ConfigMap } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  applyObject,
  FIELD_MANAGER,
  Informer,
  isNotFound,
  KubeError,
  loadKubeConfig,
  type InformerEvent,
} from '../src/kube/index.js';
import { envtest, eventually, testNamespace, userKubeconfigYaml } from './support.js';

describe('kube client edge against the real API server', () => {
  const kc = loadKubeConfig({ kubeconfigYaml: envtest().adminKubeconfig });
  const core = kc.makeApiClient(CoreV1Api);

  it('server-side applies under our own field manager and reuses one connection pool', async () => {
    const ns = await testNamespace('kube-apply');
    const cm = await applyObject<V1ConfigMap>(kc, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'one', namespace: ns },
      data: { a: '1' },
    });
    expect(cm.data).toEqual({ a: '1' });
    expect(cm.metadata?.managedFields?.map((m) => m.manager)).toEqual([FIELD_MANAGER]);
    // A second apply that drops a field removes it: we own exactly what we apply.
    await applyObject(kc, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'one', namespace: ns },
      data: { b: '2' },
    });
    const read = await core.readNamespacedConfigMap({ name: 'one', namespace: ns });
    expect(read.data).toEqual({ b: '2' });
  });

  it('maps API failures to errors that carry code and message', async () => {
    const ns = await testNamespace('kube-errors');
    const err = await core.readNamespacedConfigMap({ name: 'missing', namespace: ns }).catch((e) => e);
    expect(isNotFound(err)).toBe(true);
    const jane = loadKubeConfig({ kubeconfigYaml: await userKubeconfigYaml('jane') });
    const denied = await applyObject(jane, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'x', namespace: ns },
    }).catch((e) => e);
    expect(denied).toBeInstanceOf(KubeError);
    expect(denied.failure.code).toBe(403);
    expect(denied.message).toMatch(/^apply ConfigMap .*\/x: 403 .*forbidden/);
  });

  it('informer lists, then delivers add, update and delete, and stops promptly', async () => {
    const ns = await testNamespace('kube-informer');
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'before' } } });
    const events: InformerEvent<V1ConfigMap>[] = [];
    const informer = new Informer<V1ConfigMap>(kc, {
      path: `/api/v1/namespaces/${ns}/configmaps`,
      labelSelector: 'test!=skip',
    });
    informer.onEvent((e) => events.push(e)).start();
    await informer.synced;
    expect(informer.get('before', ns)?.metadata?.name).toBe('before');

    await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'after' }, data: { v: '1' } },
    });
    await core.patchNamespacedConfigMap({
      name: 'after',
      namespace: ns,
      body: [{ op: 'replace', path: '/data/v', value: '2' }],
    });
    await core.deleteNamespacedConfigMap({ name: 'before', namespace: ns });
    await eventually(
      () =>
        events.some((e) => e.type === 'DELETED' && e.object.metadata?.name === 'before') ? true : undefined,
      {
        what: 'DELETED event',
      },
    );
    const modified = events.find((e) => e.type === 'MODIFIED' && e.object.metadata?.name === 'after');
    expect(modified?.old?.data).toEqual({ v: '1' });
    expect(modified?.object.data).toEqual({ v: '2' });
    // The controller manager adds kube-root-ca.crt to new namespaces whenever it gets to it.
    const names = informer.list().map((c) => c.metadata?.name);
    expect(names.filter((n) => n !== 'kube-root-ca.crt')).toEqual(['after']);

    const started = Date.now();
    await informer.stop();
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('informer recovers from a stale resourceVersion after a restart', async () => {
    const ns = await testNamespace('kube-relist');
    const informer = new Informer<V1ConfigMap>(kc, {
      path: `/api/v1/namespaces/${ns}/configmaps`,
      backoff: { initialMs: 10, maxMs: 50 },
    });
    const events: InformerEvent<V1ConfigMap>[] = [];
    informer.onEvent((e) => events.push(e)).start();
    await informer.synced;
    // Resume from a resourceVersion far in the past: the server either replays or answers 410 Gone (relist).
    await informer.stop();
    (informer as unknown as { resourceVersion: string }).resourceVersion = '1';
    informer.start();
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'late' } } });
    await eventually(() => (informer.get('late', ns) ? true : undefined), {
      what: 'object seen after relist',
    });
    await informer.stop();
  });
});
