import type { KubeConfig, V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { parseServingMaterial, type ServingMaterial } from '../certs/index.js';
import type { CompiledTemplate } from '../inject/index.js';
import { Informer } from '../kube/index.js';
import { INJECTOR_CONFIGMAP, parseInjectorConfigMap } from '../render/injector-configmap.js';

/** A running watch; `synced` resolves after the first list. */
export interface SourceWatch {
  synced: Promise<void>;
  stop(): Promise<void>;
}

function watchOne<T extends V1ConfigMap | V1Secret>(
  kc: KubeConfig,
  collection: string,
  name: string,
  log: Logger,
  onObject: (obj: T) => void,
): SourceWatch {
  const informer = new Informer<T>(kc, { path: collection, fieldSelector: `metadata.name=${name}`, log });
  informer.onEvent((e) => {
    // Deleted: keep serving what we have; the controller re-creates it, and an uninstall removes
    // the webhook configurations that would call us.
    if (e.type === 'DELETED') log.warn({ name }, 'watched object deleted, keeping the last one loaded');
    else onObject(e.object);
  });
  informer.start();
  return { synced: informer.synced, stop: () => informer.stop() };
}

/**
 * Watches the injector ConfigMap (`sidecar-injector` in `namespace`) and calls `onChange` with the
 * full template set after every change. A malformed entry keeps that policy's last good template
 * (or stays absent if there never was one); a deleted ConfigMap keeps the last set. Until the
 * ConfigMap is seen once, `onChange` is not called, so the server stays not-ready.
 */
export function watchInjectorTemplates(
  kc: KubeConfig,
  namespace: string,
  log: Logger,
  onChange: (templates: ReadonlyMap<string, CompiledTemplate>) => void,
): SourceWatch {
  let last = new Map<string, CompiledTemplate>();
  return watchOne<V1ConfigMap>(
    kc,
    `/api/v1/namespaces/${namespace}/configmaps`,
    INJECTOR_CONFIGMAP,
    log,
    (cm) => {
      const { templates, errors } = parseInjectorConfigMap(cm);
      for (const { key, reason } of errors) {
        const kept = last.get(key);
        if (kept) templates.set(key, kept);
        log.error({ policy: key, reason, keptRevision: kept?.revision }, 'injector template unreadable');
      }
      last = templates;
      log.info(
        { policies: Object.fromEntries([...templates].map(([k, t]) => [k, t.revision])) },
        'injector templates loaded',
      );
      onChange(templates);
    },
  );
}

/**
 * Watches the serving certificate Secret and calls `onChange` with its key pair after every change
 * that yields a usable one; an unreadable Secret is logged and the previous pair stays in use.
 * Read through the API, not a mounted file, so a rotation is seen at once rather than after the
 * kubelet's refresh.
 */
export function watchServingSecret(
  kc: KubeConfig,
  namespace: string,
  secretName: string,
  log: Logger,
  onChange: (material: ServingMaterial) => void,
): SourceWatch {
  return watchOne<V1Secret>(kc, `/api/v1/namespaces/${namespace}/secrets`, secretName, log, (secret) => {
    let material: ServingMaterial;
    try {
      material = parseServingMaterial(secret);
    } catch (err) {
      log.error({ secret: secretName, reason: (err as Error).message }, 'serving certificate unreadable');
      return;
    }
    try {
      onChange(material);
      log.info(
        { secret: secretName, notAfter: material.notAfter.toISOString() },
        'serving certificate loaded',
      );
    } catch (err) {
      log.error({ secret: secretName, reason: (err as Error).message }, 'serving certificate rejected');
    }
  });
}
