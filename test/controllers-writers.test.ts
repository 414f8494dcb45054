import type { KubeConfig, V1ConfigMap, V1MutatingWebhookConfiguration } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { SidecarPolicy } from '../src/api/index.js';
import { InjectorConfigMap } from '../src/controllers/injector-configmap/injector-configmap.js';
import { TemplateCache } from '../src/controllers/template-cache.js';
import { WebhookConfigurations } from '../src/controllers/webhooks/webhooks.js';
import { isNotFound, jsonPatch, requestJson, type Cache } from '../src/kube/index.js';
import { INJECTOR_CONFIGMAP } from '../src/render/injector-configmap.js';
import {
  admin,
  cleanupWebhooksAfterAll,
  createPolicy,
  dropPoliciesAfterAll,
  shortId,
  TEST_INIT_IMAGE,
} from './controller-support.js';
import { createAuthority } from './envtest/pki.js';
import { testNamespace } from './support.js';

const kc = admin();
const id = shortId();
const policies: string[] = [];
cleanupWebhooksAfterAll(kc, () => policies);
dropPoliciesAfterAll(kc, () => policies);

async function policy(suffix: string): Promise<SidecarPolicy> {
  const name = `wr-${id}-${suffix}`;
  policies.push(name);
  return createPolicy(kc, name, id, { selector: { namespaces: ['none'] } });
}

/** A cache that shows one object as the API server has it now: an informer that has caught up. */
function liveCache<T extends { metadata?: { name?: string } }>(kc: KubeConfig, path: string) {
  let items: T[] = [];
  const cache: Cache<T> & { refresh(): Promise<void> } = {
    list: () => items,
    get: (name) => items.find((o) => o.metadata?.name === name),
    async refresh() {
      items = await requestJson<T>(kc, { path }).then(
        (o) => [o],
        (err: unknown) => {
          if (isNotFound(err)) return [];
          throw err;
        },
      );
    },
  };
  return cache;
}

const compile = { nativeSidecars: true, sleepAction: true, initImage: TEST_INIT_IMAGE };

describe('the injector ConfigMap writer against the API server', () => {
  it('creates the ConfigMap, writes each policy entry, drops strangers, and makes no write when in place', async () => {
    const ns = await testNamespace('wr-cm');
    const path = `/api/v1/namespaces/${ns}/configmaps/${INJECTOR_CONFIGMAP}`;
    const cache = liveCache<V1ConfigMap>(kc, path);
    const templates = new TemplateCache(compile);
    const writer = new InjectorConfigMap({ kc, namespace: ns, cache, templates });

    await writer.ensure([]);
    await cache.refresh();
    expect(cache.get(INJECTOR_CONFIGMAP)?.data ?? {}).toEqual({});

    const p = await policy('cm');
    const name = p.metadata!.name!;
    await writer.sync([p]);
    await cache.refresh();
    expect(writer.servedRevision(name)).toBe(templates.get(p).template!.revision);
    expect(writer.hasEntry(name)).toBe(true);

    await jsonPatch(kc, path, [{ op: 'add', path: '/data/stranger', value: 'x' }]);
    await cache.refresh();
    await writer.sync([p]);
    await cache.refresh();
    expect(Object.keys(cache.get(INJECTOR_CONFIGMAP)?.data ?? {})).toEqual([name]);

    const before = cache.get(INJECTOR_CONFIGMAP)?.metadata?.resourceVersion;
    await writer.sync([p]);
    await cache.refresh();
    expect(cache.get(INJECTOR_CONFIGMAP)?.metadata?.resourceVersion).toBe(before);

    await writer.sync([]);
    await cache.refresh();
    expect(writer.hasEntry(name)).toBe(false);
  });
});

describe('the webhook configuration writer against the API server', () => {
  it('applies once, repairs a deletion it had seen in place, reports an expired certificate, and deletes', async () => {
    const opNs = await testNamespace('wr-mwc');
    const p = await policy('mwc');
    const name = p.metadata!.name!;
    const cache = liveCache<V1MutatingWebhookConfiguration>(
      kc,
      `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${name}`,
    );
    const writer = new WebhookConfigurations({
      kc,
      operatorNamespace: opNs,
      target: { url: 'https://127.0.0.1:1' },
      cache,
    });
    const bundlePem = (await createAuthority('writers-test-ca')).certPem;

    await cache.refresh();
    expect(await writer.sync(p, bundlePem)).toBe('applied');
    await cache.refresh();
    expect(await writer.sync(p, bundlePem)).toBe('unchanged');

    await requestJson(kc, {
      method: 'DELETE',
      path: `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${name}`,
    });
    await cache.refresh();
    expect(await writer.sync(p, bundlePem)).toBe('recreated');
    await cache.refresh();

    const notAfter = new Date(Date.now() - 1000);
    const expired = await writer.converge(p, true, { bundlePem, notAfter }, new Date());
    expect(expired.facts).toEqual({
      webhook: { state: 'Applied' },
      certificate: { state: 'Expired', notAfter },
    });
    const valid = await writer.converge(
      p,
      true,
      { bundlePem, notAfter: new Date(Date.now() + 3_600_000) },
      new Date(),
    );
    expect(valid.facts.certificate.state).toBe('Valid');

    await writer.delete(name);
    await cache.refresh();
    expect(writer.has(name)).toBe(false);
  });
});
