import type { KubeConfig, V1ConfigMap, V1MutatingWebhookConfiguration } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { SidecarPolicy } from '../src/api/index.js';
import { InjectorTemplates } from '../src/controllers/injector-configmap/injector-configmap.js';
import { TemplateCache } from '../src/controllers/template-cache.js';
import { WebhookConfigurations } from '../src/controllers/webhooks/webhooks.js';
import { isNotFound, requestJson, type Cache } from '../src/kube/index.js';
import {
  INJECTOR_TEMPLATE_SELECTOR,
  injectorTemplateName,
  LEGACY_INJECTOR_CONFIGMAP,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  TEMPLATE_KEY,
} from '../src/render/injector-configmap.js';
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

/** The policies' template ConfigMaps as the API server has them now (a caught-up informer). */
function templateCache(kc: KubeConfig, ns: string) {
  let items: V1ConfigMap[] = [];
  const cache: Cache<V1ConfigMap> & { refresh(): Promise<void> } = {
    list: () => items,
    get: (name) => items.find((o) => o.metadata?.name === name),
    async refresh() {
      const list = await requestJson<{ items: V1ConfigMap[] }>(kc, {
        path: `/api/v1/namespaces/${ns}/configmaps`,
        query: { labelSelector: INJECTOR_TEMPLATE_SELECTOR },
      });
      items = list.items;
    },
  };
  return cache;
}

describe('the injector template writer against the API server', () => {
  it('writes one ConfigMap per policy, no write when in place, and deletes a policy’s own only', async () => {
    const ns = await testNamespace('wr-cm');
    const cache = templateCache(kc, ns);
    const legacy = liveCache<V1ConfigMap>(
      kc,
      `/api/v1/namespaces/${ns}/configmaps/${LEGACY_INJECTOR_CONFIGMAP}`,
    );
    const templates = new TemplateCache(compile);
    const writer = new InjectorTemplates({ kc, namespace: ns, cache, legacy, templates });

    const [a, b] = [await policy('cm-a'), await policy('cm-b')];
    const [na, nb] = [a.metadata!.name!, b.metadata!.name!];
    await writer.sync(a);
    await writer.sync(b);
    await cache.refresh();
    expect(
      cache
        .list()
        .map((c) => c.metadata?.name)
        .sort(),
    ).toEqual([injectorTemplateName(na), injectorTemplateName(nb)].sort());
    const cmA = cache.get(injectorTemplateName(na))!;
    expect(cmA.metadata?.labels).toMatchObject({ 'sidecar.dev/policy': na, [MANAGED_BY_LABEL]: MANAGED_BY });
    expect(Object.keys(cmA.data ?? {})).toEqual([TEMPLATE_KEY]);
    expect(writer.servedRevision(na)).toBe(templates.get(a).template!.revision);
    expect(writer.has(na)).toBe(true);

    const before = cmA.metadata?.resourceVersion;
    await writer.sync(a);
    await cache.refresh();
    expect(cache.get(injectorTemplateName(na))?.metadata?.resourceVersion).toBe(before);

    await writer.delete(na);
    await cache.refresh();
    expect(writer.has(na)).toBe(false);
    expect(writer.has(nb)).toBe(true);
  });

  it('carries an older release’s shared entry over for a policy that no longer compiles, then retires it', async () => {
    const ns = await testNamespace('wr-legacy');
    const cache = templateCache(kc, ns);
    const legacyPath = `/api/v1/namespaces/${ns}/configmaps/${LEGACY_INJECTOR_CONFIGMAP}`;
    const legacy = liveCache<V1ConfigMap>(kc, legacyPath);
    const templates = new TemplateCache(compile);
    const writer = new InjectorTemplates({ kc, namespace: ns, cache, legacy, templates });
    const p = await policy('legacy');
    const name = p.metadata!.name!;
    const good = templates.get(p).template!;
    await requestJson(kc, {
      method: 'POST',
      path: `/api/v1/namespaces/${ns}/configmaps`,
      body: {
        metadata: { name: LEGACY_INJECTOR_CONFIGMAP, labels: { [MANAGED_BY_LABEL]: MANAGED_BY } },
        data: { [name]: JSON.stringify(good) },
      },
    });
    await legacy.refresh();
    // The policy as it is now does not compile (a later generation): nothing of its own yet.
    const broken: SidecarPolicy = {
      ...p,
      metadata: { ...p.metadata, generation: 99 },
      spec: { ...p.spec, proxy: { image: 'bad image' } },
    };
    expect(templates.get(broken).error).toBeDefined();
    expect(await writer.retireLegacy([broken])).toBe(false);
    await writer.sync(broken);
    await cache.refresh();
    expect(writer.servedRevision(name)).toBe(good.revision);
    expect(await writer.retireLegacy([broken])).toBe(true);
    await legacy.refresh();
    expect(legacy.list()).toEqual([]);
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
