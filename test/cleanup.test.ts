import {
  AdmissionregistrationV1Api,
  CoreV1Api,
  type V1MutatingWebhookConfiguration,
  type V1Namespace,
} from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import {
  FINALIZER,
  POLICY_LABEL,
  policyPath,
  REVISION_ANNOTATION,
  type SidecarPolicy,
} from '../src/api/index.js';
import { deleteWebhookConfiguration, removeFinalizer, unmarkNamespace } from '../src/controllers/cleanup.js';
import { jsonPatch, requestJson } from '../src/kube/index.js';
import { MANAGED_BY, MANAGED_BY_LABEL } from '../src/render/injector-configmap.js';
import { admin, createPolicy, dropPoliciesAfterAll, getPolicy, shortId } from './controller-support.js';
import { testNamespace } from './support.js';

const kc = admin();
const core = kc.makeApiClient(CoreV1Api);
const admission = kc.makeApiClient(AdmissionregistrationV1Api);
const id = shortId();
const webhooks: string[] = [];
const policies: string[] = [];

afterAll(async () => {
  for (const name of webhooks)
    await admission.deleteMutatingWebhookConfiguration({ name }).catch(() => undefined);
});
dropPoliciesAfterAll(kc, () => policies);

async function webhook(
  suffix: string,
  labels: Record<string, string>,
): Promise<V1MutatingWebhookConfiguration> {
  const name = `cleanup-${id}-${suffix}`;
  webhooks.push(name);
  return admission.createMutatingWebhookConfiguration({ body: { metadata: { name, labels } } });
}

const exists = (name: string) =>
  admission.readMutatingWebhookConfiguration({ name }).then(
    () => true,
    () => false,
  );

describe('deleteWebhookConfiguration', () => {
  it('deletes ours, reads it first when not given, and reports one already gone', async () => {
    const mwc = await webhook('ours', { [MANAGED_BY_LABEL]: MANAGED_BY });
    const name = mwc.metadata!.name!;
    expect(await deleteWebhookConfiguration(kc, name, { dryRun: true })).toBe('deleted');
    expect(await exists(name)).toBe(true);
    expect(await deleteWebhookConfiguration(kc, name)).toBe('deleted');
    expect(await exists(name)).toBe(false);
    expect(await deleteWebhookConfiguration(kc, name, { seen: mwc })).toBe('gone');
  });

  it('never deletes one without our label', async () => {
    const mwc = await webhook('stranger', { app: 'someone-else' });
    expect(await deleteWebhookConfiguration(kc, mwc.metadata!.name!)).toBe('not-ours');
    expect(await exists(mwc.metadata!.name!)).toBe(true);
  });
});

describe('unmarkNamespace', () => {
  it('removes both marks and nothing else, also when one of them went meanwhile', async () => {
    const name = await testNamespace('cleanup-marks', { [POLICY_LABEL]: 'mesh', team: 'a' });
    await jsonPatch(kc, `/api/v1/namespaces/${name}`, [
      { op: 'add', path: '/metadata/annotations', value: { [REVISION_ANNOTATION]: 'r1', keep: 'me' } },
    ]);
    const seen: V1Namespace = await core.readNamespace({ name });
    // Someone removes the label after we looked: the removal of both fails (422), each alone goes on.
    await jsonPatch(kc, `/api/v1/namespaces/${name}`, [
      { op: 'remove', path: '/metadata/labels/sidecar.dev~1policy' },
    ]);
    expect(await unmarkNamespace(kc, seen)).toEqual([
      `label ${POLICY_LABEL}`,
      `annotation ${REVISION_ANNOTATION}`,
    ]);
    const after = await core.readNamespace({ name });
    expect(after.metadata?.labels?.[POLICY_LABEL]).toBeUndefined();
    expect(after.metadata?.annotations?.[REVISION_ANNOTATION]).toBeUndefined();
    expect(after.metadata?.labels?.team).toBe('a');
    expect(after.metadata?.annotations?.keep).toBe('me');
  });

  it('keeps the marks on a dry run, and treats a namespace that is gone as done', async () => {
    const name = await testNamespace('cleanup-dry', { [POLICY_LABEL]: 'mesh' });
    const seen = await core.readNamespace({ name });
    await unmarkNamespace(kc, seen, { dryRun: true });
    expect((await core.readNamespace({ name })).metadata?.labels?.[POLICY_LABEL]).toBe('mesh');
    const ghost = { metadata: { name: `cleanup-ghost-${id}`, labels: { [POLICY_LABEL]: 'mesh' } } };
    await expect(unmarkNamespace(kc, ghost)).resolves.toEqual([`label ${POLICY_LABEL}`]);
  });
});

describe('removeFinalizer', () => {
  it('removes ours only, re-reading when the list moved since it was seen', async () => {
    const name = `cleanup-${id}-fin`;
    policies.push(name);
    await createPolicy(kc, name, 'none', { selector: { namespaces: ['none'] } });
    const seen = await jsonPatch<SidecarPolicy>(kc, policyPath(name), [
      { op: 'add', path: '/metadata/finalizers', value: [FINALIZER] },
    ]);
    // Another controller's finalizer lands in front of ours: index 0 no longer holds ours.
    await jsonPatch(kc, policyPath(name), [
      { op: 'add', path: '/metadata/finalizers/0', value: 'example.com/other' },
    ]);
    expect(await removeFinalizer(kc, name, { seen })).toBe(true);
    expect((await getPolicy(kc, name))?.metadata?.finalizers).toEqual(['example.com/other']);
    expect(await removeFinalizer(kc, name)).toBe(false);
    await jsonPatch(kc, policyPath(name), [{ op: 'remove', path: '/metadata/finalizers' }]);
    await requestJson(kc, { method: 'DELETE', path: policyPath(name) });
    expect(await removeFinalizer(kc, name, { seen })).toBe(false);
  });
});
