import type { KubeConfig, V1ConfigMap } from '@kubernetes/client-node';
import type { SidecarPolicy } from '../../api/index.js';
import { escapePointer, type CompiledTemplate } from '../../inject/index.js';
import { applyObject, jsonPatch, type Cache } from '../../kube/index.js';
import {
  desiredInjectorConfigMap,
  INJECTOR_CONFIGMAP,
  injectorConfigMapInPlace,
  parseInjectorConfigMap,
  strangerKeys,
} from '../../render/injector-configmap.js';
import type { TemplateCache } from '../template-cache.js';

export interface InjectorConfigMapOptions {
  kc: KubeConfig;
  /** The operator's namespace, where the ConfigMap lives. */
  namespace: string;
  /** The ConfigMap as watched (a field selector on its name). */
  cache: Cache<V1ConfigMap>;
  templates: TemplateCache;
}

/**
 * The one writer of the injector ConfigMap, the object every policy shares: one entry per live
 * policy, rendered from all of them at once (gather the cache and the compiled templates → render →
 * apply only when it differs). Every replica's webhook serves what it holds.
 */
export class InjectorConfigMap {
  constructor(private readonly o: InjectorConfigMapOptions) {}

  private current(): V1ConfigMap | undefined {
    return this.o.cache.get(INJECTOR_CONFIGMAP, this.o.namespace);
  }

  /**
   * Converges the ConfigMap on `policies` (the live ones). A policy that no longer compiles keeps
   * the entry it had, so the webhook goes on serving the last good template.
   */
  async sync(policies: readonly SidecarPolicy[]): Promise<void> {
    const current = this.current();
    const compiled = new Map<string, CompiledTemplate | undefined>();
    for (const p of policies) compiled.set(p.metadata?.name ?? '', this.o.templates.get(p).template);
    const desired = desiredInjectorConfigMap(this.o.namespace, current, compiled);
    if (injectorConfigMapInPlace(current, desired)) return;
    const applied = await applyObject(this.o.kc, desired, { force: true });
    // Keys someone else added are not ours to drop by apply: remove them explicitly.
    const extra = strangerKeys(applied, desired);
    if (extra.length === 0) return;
    await jsonPatch(
      this.o.kc,
      `/api/v1/namespaces/${this.o.namespace}/configmaps/${INJECTOR_CONFIGMAP}`,
      extra.map((k) => ({ op: 'remove', path: `/data/${escapePointer(k)}` })),
    );
  }

  /**
   * Writes the ConfigMap when it does not exist (no policy yet): every replica reports ready only
   * once it has loaded the templates, an empty set included.
   */
  async ensure(policies: readonly SidecarPolicy[]): Promise<void> {
    if (this.current()) return;
    await this.sync(policies);
  }

  /** The revision of a policy's entry as watched (what the webhooks serve, or are about to). */
  servedRevision(name: string): string | undefined {
    const raw = this.current()?.data?.[name];
    if (raw === undefined) return undefined;
    return parseInjectorConfigMap({ data: { [name]: raw } }).templates.get(name)?.revision;
  }

  /** Whether the ConfigMap still has an entry for `name` (a leftover once the policy is gone). */
  hasEntry(name: string): boolean {
    return this.o.cache.list().some((cm) => cm.data?.[name] !== undefined);
  }
}
