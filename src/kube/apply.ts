import { FIELD_MANAGER } from '../api/index.js';
import {
  KubernetesObjectApi,
  PatchStrategy,
  type KubeConfig,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { KubeError } from './errors.js';
import { requestJson } from './request.js';

export { FIELD_MANAGER };

// One generic client per kubeconfig: it caches the resource discovery it does for each kind, which a
// fresh client per call would repeat before every write.
const objectApis = new WeakMap<KubeConfig, KubernetesObjectApi>();

function objectApi(kc: KubeConfig): KubernetesObjectApi {
  let api = objectApis.get(kc);
  if (!api) {
    api = KubernetesObjectApi.makeApiClient(kc);
    objectApis.set(kc, api);
  }
  return api;
}

/**
 * Server-side applies `obj` (a partial object: only the fields we own) under our field manager.
 * `force` takes fields over from other managers; use it only on objects the operator owns.
 */
export async function applyObject<T extends KubernetesObject>(
  kc: KubeConfig,
  obj: T,
  { force = false, dryRun = false }: { force?: boolean; dryRun?: boolean } = {},
): Promise<T> {
  const api = objectApi(kc);
  try {
    return await api.patch<T>(
      obj,
      undefined,
      dryRun ? 'All' : undefined,
      FIELD_MANAGER,
      force,
      PatchStrategy.ServerSideApply,
    );
  } catch (err) {
    throw KubeError.wrap(
      `apply ${obj.kind} ${obj.metadata?.namespace ? `${obj.metadata.namespace}/` : ''}${obj.metadata?.name}`,
      err,
    );
  }
}

/**
 * Server-side applies the status subresource of a custom resource under our field manager.
 * `path` is the object's path, e.g. /apis/sidecar.dev/v1alpha1/sidecarpolicies/mesh-default.
 */
export async function applyStatus<T extends KubernetesObject>(
  kc: KubeConfig,
  path: string,
  obj: T,
): Promise<T> {
  try {
    return await requestJson<T>(kc, {
      method: 'PATCH',
      path: `${path}/status`,
      query: { fieldManager: FIELD_MANAGER, force: true },
      body: obj,
      contentType: PatchStrategy.ServerSideApply,
    });
  } catch (err) {
    throw KubeError.wrap(`apply status of ${obj.kind} ${obj.metadata?.name}`, err);
  }
}

/**
 * RFC 6902 JSON Patch on any object path, e.g. to remove a finalizer under a test precondition.
 * With `dryRun` the API server validates and authorizes it, and keeps nothing.
 */
export async function jsonPatch<T>(
  kc: KubeConfig,
  path: string,
  ops: unknown[],
  { dryRun = false }: { dryRun?: boolean } = {},
): Promise<T> {
  try {
    return await requestJson<T>(kc, {
      method: 'PATCH',
      path,
      query: { fieldManager: FIELD_MANAGER, ...(dryRun ? { dryRun: 'All' } : {}) },
      body: ops,
      contentType: PatchStrategy.JsonPatch,
    });
  } catch (err) {
    throw KubeError.wrap(`patch ${path}`, err);
  }
}
