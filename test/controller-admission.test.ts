import { CoreV1Api, type CoreV1Event } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { policyPath, type SidecarPolicy } from '../src/api/index.js';
import { requestJson } from '../src/kube/index.js';
import type { OperatorHandle } from '../src/operator/index.js';
import {
  admin,
  cleanupWebhooksAfterAll,
  condition,
  createPolicy,
  deletePolicies,
  getPolicy,
  metric,
  shortId,
  startTestOperator,
  waitReady,
} from './controller-support.js';
import { eventually, testNamespace } from './support.js';

const kc = admin();
const core = kc.makeApiClient(CoreV1Api);
const id = shortId();
const name = `adm-${id}`;
const ENFORCE = 'pod-security.kubernetes.io/enforce';

let operator: OperatorHandle;
let plain: string;
let strict: string;
let limited: string;

cleanupWebhooksAfterAll(kc, () => [name]);

beforeAll(async () => {
  const opNs = await testNamespace('adm-op');
  plain = await testNamespace('adm-plain');
  strict = await testNamespace('adm-strict', { [ENFORCE]: 'baseline' });
  limited = await testNamespace('adm-limited');
  // At most 100m of CPU per container: the proxy's limit below is over it.
  await core.createNamespacedLimitRange({
    namespace: limited,
    body: {
      metadata: { name: 'small' },
      spec: { limits: [{ type: 'Container', max: { cpu: '100m' } }] },
    },
  });
  operator = await startTestOperator(opNs, id, { leaderElect: false });
});

afterAll(async () => {
  try {
    await deletePolicies(kc, [name]);
  } finally {
    await operator?.stop();
  }
});

/** Waits until PodsAdmissible (for the current generation) satisfies `ok`. */
async function admissible(
  ok: (c: NonNullable<ReturnType<typeof condition>>) => boolean,
): Promise<SidecarPolicy> {
  return eventually(
    async () => {
      const p = await getPolicy(kc, name);
      const c = condition(p, 'PodsAdmissible');
      return c && p?.status?.observedGeneration === p?.metadata?.generation && ok(c) ? p : undefined;
    },
    { what: `${name} PodsAdmissible as expected`, timeoutMs: 30_000 },
  );
}

async function relabel(namespace: string, labels: Record<string, string | null>): Promise<void> {
  await requestJson(kc, {
    method: 'PATCH',
    path: `/api/v1/namespaces/${namespace}`,
    body: { metadata: { labels } },
    contentType: 'application/merge-patch+json',
  });
}

async function refusedEvents(): Promise<CoreV1Event[]> {
  const uid = (await getPolicy(kc, name))?.metadata?.uid ?? '';
  const list = await core.listNamespacedEvent({
    namespace: 'default',
    fieldSelector: `involvedObject.name=${name},reason=PodsRefused`,
  });
  return list.items.filter((e) => e.involvedObject.uid === uid);
}

describe('PodsAdmissible: a dry-run injected pod in each governed namespace', () => {
  it('names the namespaces whose admission refuses the pods, with the server words, and Ready is False', async () => {
    await createPolicy(kc, name, id, {
      selector: { namespaces: [plain, strict, limited] },
      proxy: { image: 'registry.example/proxy:1', resources: { limits: { cpu: '500m', memory: '128Mi' } } },
    });
    const p = await admissible((c) => c.status === 'False' && c.message.includes(' 2 of 3 '));
    const c = condition(p, 'PodsAdmissible')!;
    expect(c.reason).toBe('PodsRefused');
    expect(c.message).toContain('in 2 of 3 governed namespaces');
    expect(c.message).toContain(`${strict}: `);
    expect(c.message).toMatch(/violates PodSecurity "baseline:latest".*NET_ADMIN/);
    expect(c.message).toContain(`${limited}: `);
    expect(c.message).toMatch(/maximum cpu usage per Container is 100m/);
    expect(c.message).not.toContain(`${plain}:`);
    // The ways out of Pod Security, before any pod of the policy was ever created.
    expect(c.message).toContain(`${ENFORCE}=privileged`);
    expect(c.message).toContain('mode: None');
    const ready = condition(p, 'Ready')!;
    expect(ready).toMatchObject({ status: 'False', reason: 'PodsRefused' });
    const events = await eventually(
      async () => {
        const list = await refusedEvents();
        return list.length >= 2 ? list : undefined;
      },
      { what: 'PodsRefused Events' },
    );
    expect(events.map((e) => e.message).join('\n')).toContain(`namespace ${strict}: `);
  });

  it('checks each namespace once per revision and labels: a resync sends no dry run', async () => {
    // The checker's own count, and the API server's: every dry run passes through our webhook,
    // which answers AlreadyInjected for the representative pod.
    const checks = metric(operator, 'sidecar_admission_checks_total');
    const reviews = metric(operator, 'sidecar_webhook_admission_requests_total', {
      reason: 'AlreadyInjected',
    });
    const before = { checks: await checks(), reviews: await reviews() };
    expect(before.checks).toBe(3);
    for (let i = 0; i < 3; i++) await operator.resync();
    expect({ checks: await checks(), reviews: await reviews() }).toEqual(before);
  });

  it('checks a namespace again when its labels change: privileged admits, and one left refusing is still named', async () => {
    const checks = metric(operator, 'sidecar_admission_checks_total');
    const reviews = metric(operator, 'sidecar_webhook_admission_requests_total', {
      reason: 'AlreadyInjected',
    });
    const before = await checks();
    const reviewed = await reviews();
    await relabel(strict, { [ENFORCE]: 'privileged' });
    const p = await admissible((c) => c.status === 'False' && !c.message.includes(strict));
    expect(condition(p, 'PodsAdmissible')!.message).toContain('in 1 of 3 governed namespaces');
    expect(condition(p, 'PodsAdmissible')!.message).not.toContain(`${ENFORCE}=privileged`);
    expect(await checks()).toBe(before + 1);
    // The API server called our webhook for it (mutating webhooks run before Pod Security).
    expect(await reviews()).toBe(reviewed + 1);
  });

  it('is True, and the policy Ready, once every namespace admits', async () => {
    await core.deleteNamespacedLimitRange({ name: 'small', namespace: limited });
    // A LimitRange is not watched: its namespace changing (or the verdict's age) brings the check.
    await relabel(limited, { touched: 'yes' });
    const p = await admissible((c) => c.status === 'True');
    expect(condition(p, 'PodsAdmissible')).toMatchObject({
      reason: 'PodsAdmitted',
      message: 'a dry-run injected pod is admitted in all 3 governed namespaces',
    });
    await waitReady(kc, name);
  });

  it('checks every namespace again for a new revision', async () => {
    const checks = metric(operator, 'sidecar_admission_checks_total');
    const reviews = metric(operator, 'sidecar_webhook_admission_requests_total', {
      reason: 'AlreadyInjected',
    });
    const before = await checks();
    const reviewed = await reviews();
    const revision = (await getPolicy(kc, name))?.status?.revision;
    await requestJson(kc, {
      method: 'PATCH',
      path: policyPath(name),
      body: { spec: { interception: { excludeOutboundPorts: ['3306'] } } },
      contentType: 'application/merge-patch+json',
    });
    await eventually(
      async () => {
        const p = await getPolicy(kc, name);
        return p?.status?.revision !== revision && (await checks()) === before + 3 ? true : undefined;
      },
      { what: 'a new revision checked in the 3 namespaces' },
    );
    await operator.resync();
    expect(await checks()).toBe(before + 3);
    expect(await reviews()).toBe(reviewed + 3);
    expect(condition(await getPolicy(kc, name), 'PodsAdmissible')?.status).toBe('True');
  });

  it('reports restricted like baseline', async () => {
    const checks = metric(operator, 'sidecar_admission_checks_total');
    const before = await checks();
    await relabel(strict, { [ENFORCE]: 'restricted' });
    const p = await admissible((c) => c.status === 'False');
    const c = condition(p, 'PodsAdmissible')!;
    expect(c.message).toMatch(/violates PodSecurity "restricted:latest"/);
    expect(c.message).toContain('Pod Security "restricted" refuses');
    expect(await checks()).toBe(before + 1);
  });
});
