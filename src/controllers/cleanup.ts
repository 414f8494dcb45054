import type {
  KubeConfig,
  KubernetesObject,
  V1ConfigMap,
  V1MutatingWebhookConfiguration,
} from '@kubernetes/client-node';
import { FINALIZER, POLICY_LABEL, policyPath, REVISION_ANNOTATION } from '../api/index.js';
import { escapePointer } from '../inject/index.js';
import { isConflict, isInvalid, isNotFound, jsonPatch, requestJson } from '../kube/index.js';
import {
  injectorTemplateName,
  LEGACY_INJECTOR_CONFIGMAP,
  MANAGED_BY,
  MANAGED_BY_LABEL,
} from '../render/injector-configmap.js';

/**
 * Undoing what a policy left in the cluster, one object at a time: its webhook configuration, its
 * injector template ConfigMap, the marks on a namespace, our finalizer. The finalizer (a policy being deleted) and `uninstall` (the
 * chart's pre-delete hook) both go through here. Each step is idempotent: what is already gone is
 * success. With `dryRun` the API server validates and authorizes each write and keeps nothing.
 */
export interface CleanupOptions {
  dryRun?: boolean;
}

const MWC_PATH = '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations';

const dryRunQuery = (o: CleanupOptions) => (o.dryRun ? { dryRun: 'All' } : {});

/**
 * Deletes a webhook configuration, only if it carries our managed-by label (never a stranger's).
 * `seen` is the object as listed or cached; without it, it is read first.
 */
export async function deleteWebhookConfiguration(
  kc: KubeConfig,
  name: string,
  opts: CleanupOptions & { seen?: V1MutatingWebhookConfiguration } = {},
): Promise<'deleted' | 'gone' | 'not-ours'> {
  const path = `${MWC_PATH}/${name}`;
  let current = opts.seen;
  try {
    current ??= await requestJson<V1MutatingWebhookConfiguration>(kc, { path });
    if (current.metadata?.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY) return 'not-ours';
    await requestJson(kc, { method: 'DELETE', path, query: dryRunQuery(opts) });
    return 'deleted';
  } catch (err) {
    if (isNotFound(err)) return 'gone';
    throw err;
  }
}

/**
 * Deletes a ConfigMap of ours in the operator's namespace: a policy's injector template
 * (`sidecar-injector-<policy>`), or, with `policy` undefined, the shared one of an older release.
 * Only when it carries our managed-by label, and only the object seen (uid precondition), so one
 * re-created meanwhile stays. `seen` is the object as listed or cached; without it, it is read first.
 */
export async function deleteInjectorTemplate(
  kc: KubeConfig,
  namespace: string,
  policy: string | undefined,
  opts: CleanupOptions & { seen?: V1ConfigMap } = {},
): Promise<'deleted' | 'gone' | 'not-ours'> {
  const name = policy === undefined ? LEGACY_INJECTOR_CONFIGMAP : injectorTemplateName(policy);
  const path = `/api/v1/namespaces/${namespace}/configmaps/${name}`;
  let current = opts.seen;
  try {
    current ??= await requestJson<V1ConfigMap>(kc, { path });
    if (current.metadata?.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY) return 'not-ours';
    const uid = current.metadata.uid;
    await requestJson(kc, {
      method: 'DELETE',
      path,
      query: dryRunQuery(opts),
      ...(uid ? { body: { preconditions: { uid } } } : {}),
    });
    return 'deleted';
  } catch (err) {
    // Gone, or (409) replaced by a new object since it was seen: not the one to delete.
    if (isNotFound(err) || isConflict(err)) return 'gone';
    throw err;
  }
}

/** Which of our marks a namespace carries: `label sidecar.dev/policy`, `annotation sidecar.dev/revision`. */
export function marksOn(ns: KubernetesObject): string[] {
  const marks: string[] = [];
  if (ns.metadata?.labels?.[POLICY_LABEL] !== undefined) marks.push(`label ${POLICY_LABEL}`);
  if (ns.metadata?.annotations?.[REVISION_ANNOTATION] !== undefined)
    marks.push(`annotation ${REVISION_ANNOTATION}`);
  return marks;
}

/**
 * Removes our label and annotation from a namespace, whoever wrote them (a remove is not an apply:
 * keys another field manager holds go too). `seen` says which are there; when one is gone by then
 * (422), the others are removed one by one. Returns the marks removed, as `marksOn` names them.
 */
export async function unmarkNamespace(
  kc: KubeConfig,
  seen: KubernetesObject,
  opts: CleanupOptions = {},
): Promise<string[]> {
  const marks = marksOn(seen);
  const ops = [];
  if (seen.metadata?.labels?.[POLICY_LABEL] !== undefined)
    ops.push({ op: 'remove', path: `/metadata/labels/${escapePointer(POLICY_LABEL)}` });
  if (seen.metadata?.annotations?.[REVISION_ANNOTATION] !== undefined)
    ops.push({ op: 'remove', path: `/metadata/annotations/${escapePointer(REVISION_ANNOTATION)}` });
  if (ops.length === 0) return [];
  const path = `/api/v1/namespaces/${seen.metadata?.name ?? ''}`;
  const send = async (body: object[]): Promise<void> => {
    try {
      await jsonPatch(kc, path, body, opts);
    } catch (err) {
      // The namespace is gone, or (422) a path is no longer there: nothing to remove.
      if (isNotFound(err) || (isInvalid(err) && body.length === 1)) return;
      throw err;
    }
  };
  try {
    await send(ops);
  } catch (err) {
    if (!isInvalid(err)) throw err;
    for (const op of ops) await send([op]);
  }
  return marks;
}

/**
 * Removes our finalizer at the index it is seen at, under a `test` that it is still there, so no
 * one else's finalizer is ever removed. When the list moved meanwhile (the test fails: 422, or 409)
 * the policy is read again and the removal retried. `seen` saves the first read. False when the
 * policy or the finalizer is already gone.
 */
export async function removeFinalizer(
  kc: KubeConfig,
  name: string,
  opts: CleanupOptions & { seen?: KubernetesObject } = {},
): Promise<boolean> {
  let policy = opts.seen;
  for (let tries = 0; tries < 5; tries++) {
    try {
      policy ??= await requestJson<KubernetesObject>(kc, { path: policyPath(name) });
      const i = policy.metadata?.finalizers?.indexOf(FINALIZER) ?? -1;
      if (i < 0) return false;
      await jsonPatch(
        kc,
        policyPath(name),
        [
          { op: 'test', path: `/metadata/finalizers/${i}`, value: FINALIZER },
          { op: 'remove', path: `/metadata/finalizers/${i}` },
        ],
        opts,
      );
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      if (!isInvalid(err) && !isConflict(err)) throw err;
      policy = undefined;
    }
  }
  throw new Error(`finalizers of sidecarpolicy ${name} kept changing`);
}
