import type { KubeConfig, V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { parseServingMaterial, type ServingMaterial } from '../certs/index.js';
import type { CompiledTemplate } from '../inject/index.js';
import { Informer } from '../kube/index.js';
import {
  INJECTOR_TEMPLATE_SELECTOR,
  LEGACY_INJECTOR_CONFIGMAP,
  parseInjectorTemplate,
  parseLegacyInjectorConfigMap,
  templatePolicy,
} from '../render/injector-configmap.js';

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
 * The template set the webhook serves, from the policies' ConfigMaps and, for a policy that has none
 * yet, the shared ConfigMap of an older release (a rolling upgrade whose leader is still of that
 * release). A malformed entry keeps that policy's last good template. Pure bookkeeping, no I/O.
 */
export class TemplateSet {
  private own = new Map<string, CompiledTemplate>();
  private legacy = new Map<string, CompiledTemplate>();
  /** By object key (namespace/name), the policy each ConfigMap last held: a deletion drops it. */
  private readonly owners = new Map<string, string>();

  constructor(private readonly log: Logger) {}

  /** A policy's ConfigMap added or changed. */
  put(key: string, cm: V1ConfigMap): void {
    const parsed = parseInjectorTemplate(cm);
    if ('template' in parsed) {
      const policy = parsed.template.policy;
      const before = this.owners.get(key);
      if (before !== undefined && before !== policy) this.own.delete(before);
      this.owners.set(key, policy);
      this.own.set(policy, parsed.template);
      return;
    }
    const policy = templatePolicy(cm) ?? this.owners.get(key) ?? key;
    const kept = this.own.get(policy);
    this.log.error(
      { policy, reason: parsed.error, keptRevision: kept?.revision },
      'injector template unreadable',
    );
  }

  /** A policy's ConfigMap deleted (its policy is gone; a stray deletion is written again by the leader). */
  remove(key: string): void {
    const policy = this.owners.get(key);
    this.owners.delete(key);
    if (policy !== undefined) this.own.delete(policy);
  }

  /** The older release's shared ConfigMap as it is now; undefined once removed. */
  setLegacy(cm: V1ConfigMap | undefined): void {
    if (!cm) {
      this.legacy = new Map();
      return;
    }
    const { templates, errors } = parseLegacyInjectorConfigMap(cm);
    for (const { key, reason } of errors) {
      const kept = this.legacy.get(key);
      if (kept) templates.set(key, kept);
      this.log.error({ policy: key, reason, keptRevision: kept?.revision }, 'injector template unreadable');
    }
    this.legacy = templates;
  }

  /** What is served: each policy's own template, else its entry in the shared ConfigMap. */
  templates(): Map<string, CompiledTemplate> {
    const all = new Map(this.legacy);
    for (const [policy, t] of this.own) all.set(policy, t);
    return all;
  }
}

/**
 * Watches the injector templates in `namespace`: the policies' ConfigMaps (label
 * sidecar.dev/injector-template=true) and, while a rolling upgrade may still need it, the shared
 * `sidecar-injector` of an older release. Calls `onChange` with the full template set once both were
 * listed (an empty set included: no policy, or none rendered yet) and after every change, so the
 * server is not ready before the templates were read once. A malformed ConfigMap keeps that policy's
 * last good template; a deleted one drops its policy.
 */
export function watchInjectorTemplates(
  kc: KubeConfig,
  namespace: string,
  log: Logger,
  onChange: (templates: ReadonlyMap<string, CompiledTemplate>) => void,
): SourceWatch {
  const set = new TemplateSet(log);
  const path = `/api/v1/namespaces/${namespace}/configmaps`;
  const own = new Informer<V1ConfigMap>(kc, { path, labelSelector: INJECTOR_TEMPLATE_SELECTOR, log });
  const legacy = new Informer<V1ConfigMap>(kc, {
    path,
    fieldSelector: `metadata.name=${LEGACY_INJECTOR_CONFIGMAP}`,
    log,
  });
  let loaded = false;
  const publish = (): void => {
    if (!loaded) return;
    const templates = set.templates();
    log.info(
      { policies: Object.fromEntries([...templates].map(([k, t]) => [k, t.revision])) },
      'injector templates loaded',
    );
    onChange(templates);
  };
  own.onEvent((e) => {
    const key = `${e.object.metadata?.namespace ?? ''}/${e.object.metadata?.name ?? ''}`;
    if (e.type === 'DELETED') set.remove(key);
    else set.put(key, e.object);
    publish();
  });
  legacy.onEvent((e) => {
    set.setLegacy(e.type === 'DELETED' ? undefined : e.object);
    publish();
  });
  own.start();
  legacy.start();
  const synced = Promise.all([own.synced, legacy.synced]).then(() => {
    loaded = true;
    publish();
  });
  return { synced, stop: async () => void (await Promise.all([own.stop(), legacy.stop()])) };
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
