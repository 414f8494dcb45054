import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SidecarPolicy } from '../src/api/index.js';
import type { CompiledTemplate } from '../src/inject/index.js';
import { requestJson } from '../src/kube/index.js';
import type { OperatorHandle } from '../src/operator/index.js';
import {
  INJECTOR_TEMPLATE_SELECTOR,
  injectorTemplateName,
  LEGACY_INJECTOR_CONFIGMAP,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  MAX_TEMPLATE_BYTES,
  parseInjectorTemplate,
} from '../src/render/injector-configmap.js';
import {
  admin,
  cleanupWebhooksAfterAll,
  condition,
  createPolicy,
  deletePolicies,
  dropPoliciesAfterAll,
  getPolicy,
  podSpec,
  shortId,
  startTestOperator,
  waitReady,
} from './controller-support.js';
import { eventually, testNamespace } from './support.js';

const kc = admin();
const core = kc.makeApiClient(CoreV1Api);
const id = shortId();
const policies: string[] = [];
cleanupWebhooksAfterAll(kc, () => policies);
dropPoliciesAfterAll(kc, () => policies);

/** What the schema lets env values, args and command add up to (crds/: the per-policy size bound). */
const TEXT_LIMIT = 262144;

/** Proxy env at the schema's size limit: values of 32768 characters (the per-value bound). */
const envAtLimit = (): { name: string; value: string }[] =>
  Array.from({ length: TEXT_LIMIT / 32768 }, (_, i) => ({ name: `BIG_${i}`, value: `${i}`.repeat(32768) }));

/**
 * A selector within every schema bound whose template is over MAX_TEMPLATE_BYTES: 32 requirements of
 * 256 values of 63 characters. It selects no namespace.
 */
const hugeSelector = () => ({
  namespaceSelector: {
    matchExpressions: Array.from({ length: 32 }, (_, i) => ({
      key: `k${i}`,
      operator: 'In' as const,
      values: Array.from({ length: 256 }, (_, j) => `v${i}-${j}-`.padEnd(62, 'x') + 'z'),
    })),
  },
});

/** The proxy image a dry-run pod in `ns` gets (undefined: not injected). */
async function injectedImage(ns: string, name: string): Promise<string | undefined> {
  const pod = await requestJson<V1Pod>(kc, {
    method: 'POST',
    path: `/api/v1/namespaces/${ns}/pods`,
    query: { dryRun: 'All' },
    body: podSpec(name),
  });
  const all = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
  return all.find((c) => c.name === 'sidecar-proxy')?.image;
}

const patchImage = (name: string, image: string) =>
  requestJson<SidecarPolicy>(kc, {
    method: 'PATCH',
    path: `/apis/sidecar.dev/v1alpha1/sidecarpolicies/${name}`,
    body: { spec: { proxy: { image } } },
    contentType: 'application/merge-patch+json',
  });

describe('policies isolated from each other', () => {
  let operator: OperatorHandle | undefined;
  let opNs: string;
  let appNs: string;
  // Four at the limit: together more than the 1 MiB one ConfigMap holds.
  const big = ['a', 'b', 'c', 'd'].map((x) => `iso-${id}-big-${x}`);
  const healthy = `iso-${id}-healthy`;
  const tooLarge = `iso-${id}-too-large`;

  beforeAll(async () => {
    opNs = await testNamespace('iso-op');
    appNs = await testNamespace('iso-app');
    // Rendered once per change only: reconciles here come from the watches, not from a resync.
    operator = await startTestOperator(opNs, id, { leaderElect: false, resyncPeriodMs: 3_600_000 });
  });

  afterAll(async () => {
    try {
      await deletePolicies(kc, policies);
    } finally {
      await operator?.stop();
    }
  });

  it('renders policies at the size limit and a healthy one beside them; refuses one too large on its own', async () => {
    policies.push(...big, healthy, tooLarge);
    for (const name of big)
      await createPolicy(kc, name, id, { selector: { namespaces: ['none'] }, proxy: { env: envAtLimit() } });
    await createPolicy(kc, tooLarge, id, { selector: hugeSelector() });
    await createPolicy(kc, healthy, id, {
      selector: { namespaces: [appNs] },
      proxy: { image: 'registry.test/proxy:1' },
    });
    await waitReady(kc, healthy);
    for (const name of big) {
      const p = await waitReady(kc, name);
      const cm = await core.readNamespacedConfigMap({ name: injectorTemplateName(name), namespace: opNs });
      const parsed = parseInjectorTemplate(cm);
      expect('template' in parsed && parsed.template.revision).toBe(p.status?.revision);
    }
    // The policies at the limit hold more than one ConfigMap could (1 MiB of data).
    const held = await core.listNamespacedConfigMap({
      namespace: opNs,
      labelSelector: INJECTOR_TEMPLATE_SELECTOR,
    });
    const bytes = held.items.reduce((n, c) => n + Buffer.byteLength(c.data?.['template.json'] ?? ''), 0);
    expect(bytes).toBeGreaterThan(1024 * 1024);

    const refused = await waitReady(kc, tooLarge, 'False');
    const rendered = condition(refused, 'TemplateRendered');
    expect(rendered).toMatchObject({ status: 'False', reason: 'TemplateTooLarge' });
    expect(rendered?.message).toContain(`more than the ${MAX_TEMPLATE_BYTES} allowed per policy`);
    expect(condition(refused, 'Ready')?.reason).toBe('TemplateTooLarge');
    const events = await eventually(
      async () => {
        const list = await core.listNamespacedEvent({
          namespace: 'default',
          fieldSelector: `involvedObject.name=${tooLarge}`,
        });
        const e = list.items.find(
          (x) => x.reason === 'Failed' && x.message?.includes('rendered template is'),
        );
        return e ? list.items : undefined;
      },
      { what: 'a Failed Event on the policy too large' },
    );
    expect(events.length).toBeGreaterThan(0);
    await expect(
      core.readNamespacedConfigMap({ name: injectorTemplateName(tooLarge), namespace: opNs }),
    ).rejects.toMatchObject({ code: 404 });
    expect(await injectedImage(appNs, 'first')).toBe('registry.test/proxy:1');
  });

  it('applies an edit of the healthy policy in time: the webhook serves its new revision', async () => {
    const before = (await getPolicy(kc, healthy))!.status!.revision;
    const started = Date.now();
    await patchImage(healthy, 'registry.test/proxy:2');
    const served = await eventually(
      async () =>
        (await injectedImage(appNs, 'second')) === 'registry.test/proxy:2' ? Date.now() : undefined,
      { what: 'the healthy policy’s new image injected', timeoutMs: 10_000, intervalMs: 50 },
    );
    const p = await waitReady(kc, healthy, 'True', 5_000);
    expect(p.status?.revision).not.toBe(before);
    // Edit → served well within the webhook's own timeout, whatever the policies beside it hold.
    expect(served - started).toBeLessThan(5_000);
    if (process.env.TEST_REPORT_TIMINGS) console.log(`edit → served: ${served - started} ms`);
    // The policies at the limit are untouched and still served.
    for (const name of big) expect(condition(await getPolicy(kc, name), 'Ready')?.status).toBe('True');
  });

  it('a policy too large keeps its last good template, served, while it reports TemplateTooLarge', async () => {
    // A policy that fitted grows past the limit: its ConfigMap keeps the template that fitted.
    const name = big[0]!;
    const fitted = (await getPolicy(kc, name))!.status!.revision;
    await requestJson(kc, {
      method: 'PATCH',
      path: `/apis/sidecar.dev/v1alpha1/sidecarpolicies/${name}`,
      body: { spec: { selector: { namespaces: null, ...hugeSelector() } } },
      contentType: 'application/merge-patch+json',
    });
    const p = await waitReady(kc, name, 'False');
    expect(condition(p, 'TemplateRendered')?.reason).toBe('TemplateTooLarge');
    expect(p.status?.revision).toBe(fitted);
    const cm = await core.readNamespacedConfigMap({ name: injectorTemplateName(name), namespace: opNs });
    const parsed = parseInjectorTemplate(cm);
    expect('template' in parsed && parsed.template.revision).toBe(fitted);
    // And the others go on rendering.
    await patchImage(healthy, 'registry.test/proxy:3');
    await eventually(
      async () => ((await injectedImage(appNs, 'third')) === 'registry.test/proxy:3' ? true : undefined),
      { what: 'the healthy policy’s next image injected', timeoutMs: 10_000, intervalMs: 50 },
    );
  });

  it('a policy whose ConfigMap the API server refuses reports it alone; the others go on rendering', async () => {
    const refused = `iso-${id}-refused`;
    const vap = `iso-refuse-${id}`;
    const cmName = injectorTemplateName(refused);
    // An admission policy of the cluster's owner that refuses this one ConfigMap, whoever writes it.
    await requestJson(kc, {
      method: 'POST',
      path: '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies',
      body: {
        metadata: { name: vap },
        spec: {
          failurePolicy: 'Fail',
          matchConstraints: {
            resourceRules: [
              {
                apiGroups: [''],
                apiVersions: ['v1'],
                operations: ['CREATE', 'UPDATE'],
                resources: ['configmaps'],
              },
            ],
          },
          validations: [
            { expression: `object.metadata.name != '${cmName}'`, message: 'refused by the owner’s policy' },
          ],
        },
      },
    });
    await requestJson(kc, {
      method: 'POST',
      path: '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings',
      body: {
        metadata: { name: vap },
        spec: {
          policyName: vap,
          validationActions: ['Deny'],
          matchResources: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': opNs } } },
        },
      },
    });
    try {
      await eventually(
        async () => {
          const tried = await requestJson(kc, {
            method: 'POST',
            path: `/api/v1/namespaces/${opNs}/configmaps`,
            query: { dryRun: 'All' },
            body: { metadata: { name: cmName } },
          }).then(
            () => false,
            () => true,
          );
          return tried ? true : undefined;
        },
        { what: 'the admission policy in force' },
      );
      policies.push(refused);
      await createPolicy(kc, refused, id, { selector: { namespaces: ['none'] } });
      const p = await waitReady(kc, refused, 'False');
      const rendered = condition(p, 'TemplateRendered');
      expect(rendered).toMatchObject({ status: 'False', reason: 'ConfigMapApplyFailed' });
      expect(rendered?.message).toContain('refused by the owner’s policy');
      // The others are untouched and still render.
      await patchImage(healthy, 'registry.test/proxy:4');
      await eventually(
        async () => ((await injectedImage(appNs, 'fourth')) === 'registry.test/proxy:4' ? true : undefined),
        { what: 'the healthy policy’s next image injected', timeoutMs: 10_000, intervalMs: 50 },
      );
      expect(condition(await getPolicy(kc, healthy), 'Ready')?.status).toBe('True');
    } finally {
      for (const kind of ['validatingadmissionpolicybindings', 'validatingadmissionpolicies'])
        await requestJson(kc, {
          method: 'DELETE',
          path: `/apis/admissionregistration.k8s.io/v1/${kind}/${vap}`,
        }).catch(() => undefined);
    }
  });
});

describe('upgrade from the shared injector ConfigMap of an older release', () => {
  let operator: OperatorHandle | undefined;
  let opNs: string;
  let appNs: string;
  const name = `iso-${id}-upgrade`;

  afterAll(async () => {
    try {
      await deletePolicies(kc, [name]);
    } finally {
      await operator?.stop();
    }
  });

  it('a new replica serves the shared entries while an older leader leads; a new leader moves them and removes it', async () => {
    opNs = await testNamespace('iso-up-op');
    appNs = await testNamespace('iso-up-app');
    policies.push(name);
    // Everything an older release left: certificate, webhook configuration, namespace mark.
    operator = await startTestOperator(opNs, id, { leaderElect: false });
    await createPolicy(kc, name, id, {
      selector: { namespaces: [appNs] },
      proxy: { image: 'registry.test/proxy:1' },
    });
    await waitReady(kc, name);
    const port = operator.webhookPort;
    await operator.stop();
    operator = undefined;
    // …but its templates in the one shared ConfigMap, not per policy.
    const own = await core.readNamespacedConfigMap({ name: injectorTemplateName(name), namespace: opNs });
    const parsed = parseInjectorTemplate(own);
    if (!('template' in parsed)) throw new Error(parsed.error);
    const legacyTemplate: CompiledTemplate = {
      ...parsed.template,
      proxyContainer: { ...parsed.template.proxyContainer, image: 'registry.test/proxy:from-shared' },
    };
    await core.deleteNamespacedConfigMap({ name: injectorTemplateName(name), namespace: opNs });
    await core.createNamespacedConfigMap({
      namespace: opNs,
      body: {
        metadata: { name: LEGACY_INJECTOR_CONFIGMAP, labels: { [MANAGED_BY_LABEL]: MANAGED_BY } },
        data: { [name]: JSON.stringify(legacyTemplate) },
      },
    });
    // The older release's leader still holds the Lease: the new replica only serves.
    const micro = new Date().toISOString().replace(/Z$/, '000Z');
    await requestJson(kc, {
      method: 'POST',
      path: `/apis/coordination.k8s.io/v1/namespaces/${opNs}/leases`,
      body: {
        metadata: { name: 'sidecar-operator-leader' },
        spec: {
          holderIdentity: 'older-release',
          leaseDurationSeconds: 3600,
          acquireTime: micro,
          renewTime: micro,
        },
      },
    });
    operator = await startTestOperator(opNs, id, {
      leaderElect: true,
      webhookPort: port,
      webhookUrl: `https://127.0.0.1:${port}`,
    });
    await eventually(
      async () =>
        (await injectedImage(appNs, 'during')) === 'registry.test/proxy:from-shared' ? true : undefined,
      { what: 'the shared entry served by the new replica', timeoutMs: 30_000 },
    );
    expect(operator.isLeader()).toBe(false);

    // The older leader goes, releasing the Lease as a leader that stops does (a deleted Lease would be
    // taken only once its last record, an hour long, expired): the new one writes the policy's own
    // ConfigMap and removes the shared one.
    await requestJson(kc, {
      method: 'PATCH',
      path: `/apis/coordination.k8s.io/v1/namespaces/${opNs}/leases/sidecar-operator-leader`,
      body: { spec: { holderIdentity: '', leaseDurationSeconds: 1 } },
      contentType: 'application/merge-patch+json',
    });
    await eventually(
      async () => {
        const gone = await core
          .readNamespacedConfigMap({ name: LEGACY_INJECTOR_CONFIGMAP, namespace: opNs })
          .then(
            () => false,
            () => true,
          );
        return gone ? true : undefined;
      },
      { what: 'the shared ConfigMap removed', timeoutMs: 45_000 },
    );
    const cm = await core.readNamespacedConfigMap({ name: injectorTemplateName(name), namespace: opNs });
    expect(cm.metadata?.labels?.['sidecar.dev/policy']).toBe(name);
    await eventually(
      async () => ((await injectedImage(appNs, 'after')) === 'registry.test/proxy:1' ? true : undefined),
      { what: 'the policy’s own template served', timeoutMs: 10_000 },
    );
  });
});
