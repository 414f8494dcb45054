import type { KubeConfig, V1ConfigMap } from '@kubernetes/client-node';
import type { SidecarPolicy } from '../../api/index.js';
import type { CompiledTemplate } from '../../inject/index.js';
import { applyObject, type Cache } from '../../kube/index.js';
import {
  injectorTemplateInPlace,
  injectorTemplateName,
  LEGACY_INJECTOR_CONFIGMAP,
  parseInjectorTemplate,
  parseLegacyInjectorConfigMap,
  renderInjectorTemplate,
} from '../../render/injector-configmap.js';
import { deleteInjectorTemplate } from '../cleanup.js';
import type { TemplateCache } from '../template-cache.js';

export interface InjectorTemplatesOptions {
  kc: KubeConfig;
  /** The operator's namespace, where the ConfigMaps live. */
  namespace: string;
  /** The policies' ConfigMaps as watched (label sidecar.dev/injector-template=true). */
  cache: Cache<V1ConfigMap>;
  /** The shared ConfigMap of an older release (by name), read to carry its templates over. */
  legacy: Cache<V1ConfigMap>;
  templates: TemplateCache;
}

const nameOf = (p: SidecarPolicy): string => p.metadata?.name ?? '';

/**
 * The writer of the injector templates, one ConfigMap per policy (`sidecar-injector-<policy>`), so
 * that no policy's size or failure can keep another's template from being written. Every replica's
 * webhook serves what they hold. A policy that does not compile, or whose template is too large, is
 * not written: its ConfigMap keeps the last good template, which the webhook goes on serving.
 */
export class InjectorTemplates {
  constructor(private readonly o: InjectorTemplatesOptions) {}

  private current(policy: string): V1ConfigMap | undefined {
    return this.o.cache.get(injectorTemplateName(policy), this.o.namespace);
  }

  private legacyEntry(policy: string): CompiledTemplate | undefined {
    const legacy = this.o.legacy.get(LEGACY_INJECTOR_CONFIGMAP, this.o.namespace);
    return legacy ? parseLegacyInjectorConfigMap(legacy).templates.get(policy) : undefined;
  }

  /**
   * What the policy's ConfigMap should hold: its compiled template; for a policy that does not
   * compile and has no ConfigMap yet, the entry an older release's shared ConfigMap holds for it.
   */
  private desired(policy: SidecarPolicy): CompiledTemplate | undefined {
    const name = nameOf(policy);
    return this.o.templates.get(policy).template ?? (this.current(name) ? undefined : this.legacyEntry(name));
  }

  /** Converges one policy's ConfigMap: apply only when it differs from the cached one. */
  async sync(policy: SidecarPolicy): Promise<void> {
    const template = this.desired(policy);
    if (!template) return;
    const desired = renderInjectorTemplate(this.o.namespace, template);
    if (injectorTemplateInPlace(this.current(nameOf(policy)), desired)) return;
    await applyObject(this.o.kc, desired, { force: true });
  }

  /** Deletes a policy's ConfigMap (the policy is gone). */
  async delete(policy: string): Promise<void> {
    await deleteInjectorTemplate(this.o.kc, this.o.namespace, policy);
  }

  /**
   * Removes an older release's shared ConfigMap once every live policy that has a template has its
   * own ConfigMap: until then a webhook of the new release still falls back on it for the others.
   * Replicas of the older release keep the set they last loaded until they are replaced.
   */
  async retireLegacy(policies: readonly SidecarPolicy[]): Promise<boolean> {
    const legacy = this.o.legacy.get(LEGACY_INJECTOR_CONFIGMAP, this.o.namespace);
    if (!legacy) return false;
    const pending = policies.some((p) => !this.current(nameOf(p)) && this.desired(p) !== undefined);
    if (pending) return false;
    return (
      (await deleteInjectorTemplate(this.o.kc, this.o.namespace, undefined, { seen: legacy })) === 'deleted'
    );
  }

  /** The revision of a policy's template as watched (what the webhooks serve, or are about to). */
  servedRevision(name: string): string | undefined {
    const cm = this.current(name);
    if (!cm) return undefined;
    const parsed = parseInjectorTemplate(cm);
    return 'template' in parsed ? parsed.template.revision : undefined;
  }

  /** Whether a ConfigMap of `name` is still there (a leftover once the policy is gone). */
  has(name: string): boolean {
    return this.current(name) !== undefined;
  }
}
