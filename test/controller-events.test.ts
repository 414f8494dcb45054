import { AdmissionregistrationV1Api, CoreV1Api, type CoreV1Event } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { policyPath, type SidecarPolicy } from '../src/api/index.js';
import { jsonPatch, requestJson } from '../src/kube/index.js';
import type { OperatorHandle } from '../src/operator/index.js';
import {
  admin,
  cleanupWebhooksAfterAll,
  createPolicy,
  deletePolicies,
  getPolicy,
  shortId,
  startTestOperator,
  waitReady,
} from './controller-support.js';
import { eventually, testNamespace } from './support.js';

const kc = admin();
const core = kc.makeApiClient(CoreV1Api);
const admission = kc.makeApiClient(AdmissionregistrationV1Api);
const id = shortId();
const name = `evt-${id}`;

let operator: OperatorHandle;
let a: string;
let b: string;

cleanupWebhooksAfterAll(kc, () => [name]);

beforeAll(async () => {
  const opNs = await testNamespace('evt-op');
  a = await testNamespace('evt-a');
  b = await testNamespace('evt-b');
  operator = await startTestOperator(opNs, id, { leaderElect: false });
});

afterAll(async () => {
  try {
    await deletePolicies(kc, [name]);
  } finally {
    await operator?.stop();
  }
});

/** The policy's Events (cluster-scoped objects have theirs in `default`). */
async function events(reason?: string): Promise<CoreV1Event[]> {
  const uid = (await getPolicy(kc, name))?.metadata?.uid ?? '';
  const list = await core.listNamespacedEvent({
    namespace: 'default',
    fieldSelector: `involvedObject.name=${name}${reason ? `,reason=${reason}` : ''}`,
  });
  return list.items.filter((e) => e.involvedObject.uid === uid);
}

/** Events are written in the background: wait for `want`, then long enough for a duplicate to show. */
async function settled(reason: string, want: number): Promise<CoreV1Event[]> {
  await eventually(async () => ((await events(reason)).length >= want ? true : undefined), {
    what: `${want} ${reason} Event(s) on ${name}`,
  });
  await operator.resync();
  await new Promise((r) => setTimeout(r, 1500));
  return events(reason);
}

const messages = (list: CoreV1Event[]): string[] => list.map((e) => `${e.message} ×${e.count ?? 1}`).sort();

describe('Events on a policy', () => {
  it('each new revision records one Rendered Event', async () => {
    await createPolicy(kc, name, id, { selector: { namespaces: [a, b] } });
    const first = (await waitReady(kc, name)).status!.revision!;
    await requestJson<SidecarPolicy>(kc, {
      method: 'PATCH',
      path: policyPath(name),
      body: { spec: { interception: { excludeOutboundPorts: ['3306'] } } },
      contentType: 'application/merge-patch+json',
    });
    const second = await eventually(
      async () => {
        const p = await waitReady(kc, name);
        return p.status?.revision !== first ? p.status!.revision! : undefined;
      },
      { what: 'a new revision' },
    );
    expect(messages(await settled('Rendered', 2))).toEqual(
      [`rendered revision ${first} ×1`, `rendered revision ${second} ×1`].sort(),
    );
    // Writing a revision is no repair of anything.
    expect(await events('WebhookRepaired')).toEqual([]);
    expect(await events('MarksRepaired')).toEqual([]);
  });

  it('re-creating a deleted webhook configuration records one WebhookRepaired Event', async () => {
    await admission.deleteMutatingWebhookConfiguration({ name });
    await eventually(() => admission.readMutatingWebhookConfiguration({ name }).catch(() => undefined), {
      what: 'webhook configuration re-created',
    });
    const repaired = await settled('WebhookRepaired', 1);
    expect(messages(repaired)).toEqual([
      `recreated MutatingWebhookConfiguration ${name}, which had been deleted ×1`,
    ]);
    expect(repaired[0]?.type).toBe('Warning');
  });

  it('restoring a removed namespace mark records one MarksRepaired Event, naming the namespace', async () => {
    await jsonPatch(kc, `/api/v1/namespaces/${a}`, [
      { op: 'remove', path: '/metadata/labels/sidecar.dev~1policy' },
    ]);
    await eventually(
      async () =>
        (await core.readNamespace({ name: a })).metadata?.labels?.['sidecar.dev/policy'] === name
          ? true
          : undefined,
      { what: `the mark of ${a} restored` },
    );
    const repaired = await settled('MarksRepaired', 1);
    expect(messages(repaired)).toEqual([`restored the marks of namespace ${a} ×1`]);
    expect(repaired[0]?.type).toBe('Warning');
    // The other namespace was never touched.
    expect(repaired.some((e) => e.message?.includes(b))).toBe(false);
  });
});
