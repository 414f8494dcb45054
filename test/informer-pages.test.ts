import { CoreV1Api, type KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Informer, loadKubeConfig, requestJson, type InformerEvent } from '../src/kube/index.js';
import { ControlPlane } from './envtest/control-plane.js';
import { eventually } from './support.js';

// A control plane of this file's own whose API server compacts etcd every second and serves
// lists and watches from etcd (no watch cache, which would replay from an old resourceVersion):
// continue tokens and resourceVersions expire within seconds, as they do after minutes in a cluster.
const cp = new ControlPlane({ apiServerFlags: ['--etcd-compaction-interval=1s', '--watch-cache=false'] });
let kc: KubeConfig;
let core: CoreV1Api;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  const info = await cp.start();
  kc = loadKubeConfig({ kubeconfigYaml: info.adminKubeconfig });
  core = kc.makeApiClient(CoreV1Api);
});
afterAll(() => cp.stop());

async function namespaceWith(name: string, count: number): Promise<void> {
  await core.createNamespace({ body: { metadata: { name } } });
  for (let i = 0; i < count; i += 10)
    await Promise.all(
      Array.from({ length: Math.min(10, count - i) }, (_, j) =>
        core.createNamespacedConfigMap({
          namespace: name,
          body: { metadata: { name: `cm-${String(i + j).padStart(3, '0')}` }, data: { v: '1' } },
        }),
      ),
    );
}

/** Creates and deletes a throwaway object: the revision moves, so the compactor has something to drop. */
async function churn(ns: string): Promise<void> {
  await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'churn' } } });
  await core.deleteNamespacedConfigMap({ name: 'churn', namespace: ns });
}

describe('informer lists page by page against the real API server', () => {
  it('receives a collection larger than a page complete, through several pages, without managedFields', async () => {
    await namespaceWith('paged', 45);
    const informer = new Informer<V1ConfigMap>(kc, {
      path: '/api/v1/namespaces/paged/configmaps',
      pageSize: 10,
    });
    const added: string[] = [];
    informer.onEvent((e) => e.type === 'ADDED' && added.push(e.object.metadata?.name ?? '')).start();
    await informer.synced;
    await informer.stop();
    // 45 ConfigMaps and kube-root-ca.crt when the controller manager runs (it does not here).
    const names = informer.list().map((c) => c.metadata?.name ?? '');
    expect(names.filter((n) => n.startsWith('cm-')).sort()).toEqual(
      Array.from({ length: 45 }, (_, i) => `cm-${String(i).padStart(3, '0')}`),
    );
    expect(added.filter((n) => n.startsWith('cm-'))).toHaveLength(45);
    expect(informer.stats.pages).toBeGreaterThanOrEqual(5);
    expect(informer.list().every((c) => c.metadata?.managedFields === undefined)).toBe(true);
    // The server would have sent them: the informer dropped them.
    const raw = await requestJson<{ metadata?: { managedFields?: unknown[] } }>(kc, {
      path: '/api/v1/namespaces/paged/configmaps/cm-000',
    });
    expect(raw.metadata?.managedFields?.length).toBeGreaterThan(0);
  });

  it('lists again from the start when a continue token has expired (410)', async () => {
    await namespaceWith('expiring', 30);
    const informer = new Informer<V1ConfigMap>(kc, {
      path: '/api/v1/namespaces/expiring/configmaps',
      pageSize: 10,
    });
    // The first page arrives; before the second is asked for, the state it continues is compacted
    // away (a write, then two compaction rounds) and one object is deleted.
    let firstPage = true;
    informer.onEvent(() => undefined);
    const fetchPage = (informer as unknown as { fetchPage: (q: unknown) => Promise<unknown> }).fetchPage.bind(
      informer,
    );
    (informer as unknown as { fetchPage: (q: unknown) => Promise<unknown> }).fetchPage = async (q) => {
      const page = await fetchPage(q);
      if (firstPage) {
        firstPage = false;
        await core.deleteNamespacedConfigMap({ name: 'cm-029', namespace: 'expiring' });
        await churn('expiring');
        await sleep(3_000);
        await churn('expiring');
        await sleep(3_000);
      }
      return page;
    };
    const events: InformerEvent<V1ConfigMap>[] = [];
    informer.onEvent((e) => events.push(e)).start();
    await informer.synced;
    await informer.stop();
    expect(informer.stats.listRestarts).toBe(1);
    const names = informer.list().map((c) => c.metadata?.name ?? '');
    expect(names.filter((n) => n.startsWith('cm-'))).toHaveLength(29);
    expect(names).not.toContain('cm-029');
    // Objects of the abandoned first page were delivered once, not again by the restarted list.
    const addedTwice = events.filter((e) => e.type === 'ADDED').map((e) => e.object.metadata?.name);
    expect(new Set(addedTwice).size).toBe(addedTwice.length);
  }, 60_000);

  it('relists after its watch expired and delivers exactly the differences', async () => {
    await namespaceWith('relist', 25);
    const informer = new Informer<V1ConfigMap>(kc, {
      path: '/api/v1/namespaces/relist/configmaps',
      pageSize: 10,
      backoff: { initialMs: 10, maxMs: 50 },
    });
    informer.start();
    await informer.synced;
    await informer.stop();
    const cached = new Map(informer.list().map((c) => [c.metadata?.name, c]));
    // While it is not watching: one deleted, one changed, one created; then the revision it would
    // resume from is compacted away, so its next watch expires (410) and it lists again (from the
    // last resourceVersion it saw, `NotOlderThan`).
    await core.deleteNamespacedConfigMap({ name: 'cm-003', namespace: 'relist' });
    await core.patchNamespacedConfigMap({
      name: 'cm-007',
      namespace: 'relist',
      body: [{ op: 'replace', path: '/data/v', value: '2' }],
    });
    await core.createNamespacedConfigMap({ namespace: 'relist', body: { metadata: { name: 'cm-new' } } });
    await sleep(3_000);
    await churn('relist');
    await sleep(3_000);
    const events: InformerEvent<V1ConfigMap>[] = [];
    informer.onEvent((e) => events.push(e)).start();
    await eventually(
      () => (informer.stats.relists === 2 && informer.get('cm-new', 'relist') ? true : undefined),
      {
        what: 'a second list after the watch expired',
        timeoutMs: 20_000,
      },
    );
    await informer.stop();
    const changes = events
      .filter((e) => e.object.metadata?.name !== 'churn')
      .map((e) => `${e.type} ${e.object.metadata?.name}`)
      .sort();
    expect(changes).toEqual(['ADDED cm-new', 'DELETED cm-003', 'MODIFIED cm-007']);
    const modified = events.find((e) => e.type === 'MODIFIED');
    expect(modified?.old).toBe(cached.get('cm-007'));
    expect(modified?.object.data).toEqual({ v: '2' });
    // Unchanged objects were kept as they were, not replaced by copies from the new list.
    expect(informer.get('cm-010', 'relist')).toBe(cached.get('cm-010'));
  }, 60_000);
});
