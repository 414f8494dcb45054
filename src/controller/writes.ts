import type {
  KubeConfig,
  V1ConfigMap,
  V1MutatingWebhookConfiguration,
  V1Namespace,
} from '@kubernetes/client-node';
import { API_VERSION, KIND, policyPath, type SidecarPolicy, type SidecarPolicyStatus } from '../api/index.js';
import { canonicalJson, escapePointer, type CompiledTemplate } from '../inject/index.js';
import { applyObject, applyStatus, jsonPatch } from '../kube/index.js';
import { containsDesired } from '../render/contains.js';
import {
  INJECTOR_CONFIGMAP,
  parseInjectorConfigMap,
  renderInjectorConfigMap,
} from '../render/injector-configmap.js';
import {
  currentMark,
  marksInPlace,
  renderNamespaceMarks,
  type ResolvedMarks,
} from '../render/namespace-marks.js';
import { renderWebhookConfiguration, type WebhookTarget } from '../render/webhook-configuration.js';
import type { Cache } from './reconciler.js';
import type { TemplateCache } from './template-cache.js';
import { stepFailure, type StepFailure } from './step-failure.js';
import { deleteWebhookConfiguration, unmarkNamespace } from './cleanup.js';

/** cert-manager's cainjector copies the named Certificate's CA into every caBundle of the object. */
export const INJECT_CA_FROM = 'cert-manager.io/inject-ca-from';

export async function applyPolicyStatus(
  kc: KubeConfig,
  name: string,
  status: SidecarPolicyStatus,
): Promise<void> {
  await applyStatus(kc, policyPath(name), {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name },
    status,
  });
}

/** What a sync did: nothing, a write of something new, or a repair of what someone else changed. */
export type SyncOutcome = 'unchanged' | 'applied' | 'recreated' | 'restored';

/** The outcome of syncing namespace marks: the failures, and the namespaces whose marks were repaired. */
export interface MarksOutcome {
  failures: StepFailure[];
  restored: string[];
}

/**
 * The writes of the reconciler. Each compares the desired object with the cached one first and
 * writes only when they differ, so a steady state makes no requests. Objects the operator owns are
 * force-applied; on namespaces only our two keys are ever sent.
 *
 * A write of exactly what the cache last showed in place is a repair: someone deleted or changed the
 * object since. Only the cache's word counts (never our own write): a reconcile that runs before the
 * watch delivered our write sees the older object, which is not drift. After a repair the object
 * must be seen in place again before another write counts as one. Remembered for this process only.
 */
export class Writes {
  /** Webhook configuration name → the desired part last seen in place. */
  private readonly seenWebhooks = new Map<string, string>();
  /** Namespace name → the mark last seen in place. */
  private readonly seenMarks = new Map<string, string>();

  constructor(
    private readonly kc: KubeConfig,
    private readonly operatorNamespace: string,
    private readonly target: WebhookTarget,
  ) {}

  /**
   * The injector ConfigMap, rendered from every live policy. A policy that no longer compiles keeps
   * the entry it had, so the webhook goes on serving the last good template.
   */
  async syncConfigMap(
    cache: Cache<V1ConfigMap>,
    policies: readonly SidecarPolicy[],
    templates: TemplateCache,
  ): Promise<void> {
    const current = cache.get(INJECTOR_CONFIGMAP, this.operatorNamespace);
    const previous = current
      ? parseInjectorConfigMap(current).templates
      : new Map<string, CompiledTemplate>();
    const list: CompiledTemplate[] = [];
    for (const p of policies) {
      const t = templates.get(p).template ?? previous.get(p.metadata?.name ?? '');
      if (t) list.push(t);
    }
    const desired = renderInjectorConfigMap(this.operatorNamespace, list);
    const same =
      current !== undefined &&
      canonicalJson(current.data ?? {}) === canonicalJson(desired.data ?? {}) &&
      containsDesired(current.metadata?.labels, desired.metadata?.labels);
    if (same) return;
    const applied = await applyObject(this.kc, desired, { force: true });
    // Keys someone else added are not ours to drop by apply: remove them explicitly.
    const extra = Object.keys(applied.data ?? {}).filter((k) => desired.data?.[k] === undefined);
    if (extra.length === 0) return;
    await jsonPatch(
      this.kc,
      `/api/v1/namespaces/${this.operatorNamespace}/configmaps/${INJECTOR_CONFIGMAP}`,
      extra.map((k) => ({ op: 'remove', path: `/data/${escapePointer(k)}` })),
    );
  }

  /**
   * With `certManager` set the caBundle is left out of the apply, so cert-manager's cainjector owns
   * that field (server-side apply never removes a field another manager owns), and the annotation
   * that tells cainjector where to read the CA from is added.
   */
  async syncWebhook(
    current: V1MutatingWebhookConfiguration | undefined,
    policy: SidecarPolicy,
    bundlePem: string,
    certManager?: { certificate: string },
  ): Promise<SyncOutcome> {
    const desired = renderWebhookConfiguration(policy, {
      caBundle: bundlePem,
      target: this.target,
      operatorNamespace: this.operatorNamespace,
    });
    if (certManager) {
      desired.metadata = {
        ...desired.metadata,
        annotations: { ...desired.metadata?.annotations, [INJECT_CA_FROM]: certManager.certificate },
      };
      for (const w of desired.webhooks ?? []) delete w.clientConfig.caBundle;
    }
    const name = desired.metadata?.name ?? '';
    const wanted = canonicalJson({ metadata: desired.metadata, webhooks: desired.webhooks });
    const repair = this.seenWebhooks.get(name) === wanted;
    if (current && containsDesired(current, { metadata: desired.metadata, webhooks: desired.webhooks })) {
      this.seenWebhooks.set(name, wanted);
      return 'unchanged';
    }
    await applyObject(this.kc, desired, { force: true });
    if (!repair) return 'applied';
    this.seenWebhooks.delete(name);
    return current ? 'restored' : 'recreated';
  }

  /** Deletes a policy's webhook configuration, only if it carries our label (never a stranger's). */
  async deleteWebhook(name: string, cached: V1MutatingWebhookConfiguration | undefined): Promise<void> {
    this.seenWebhooks.delete(name);
    await deleteWebhookConfiguration(this.kc, name, cached ? { seen: cached } : {});
  }

  /**
   * Namespace marks for everything `policy` touches: namespaces it governs, and namespaces still
   * marked for it that it should not have (those get their rightful mark, or none).
   */
  async syncMarks(
    namespaces: readonly V1Namespace[],
    resolved: ResolvedMarks,
    policy: string,
  ): Promise<MarksOutcome> {
    const todo: V1Namespace[] = [];
    for (const ns of namespaces) {
      const name = ns.metadata?.name ?? '';
      const desired = resolved.marks.get(name);
      if (desired?.policy !== policy && currentMark(ns).policy !== policy) continue;
      if (!marksInPlace(ns, desired)) todo.push(ns);
      else if (desired) this.seenMarks.set(name, canonicalJson(desired));
    }
    const failed: StepFailure[] = [];
    const restored: string[] = [];
    for (let i = 0; i < todo.length; i += 8) {
      await Promise.all(
        todo.slice(i, i + 8).map(async (ns) => {
          const name = ns.metadata?.name ?? '';
          const desired = resolved.marks.get(name);
          const wanted = desired ? canonicalJson(desired) : undefined;
          const repair = wanted !== undefined && this.seenMarks.get(name) === wanted;
          try {
            if (desired) await this.applyMark(name, desired);
            else await unmarkNamespace(this.kc, ns);
            if (!repair) return;
            this.seenMarks.delete(name);
            restored.push(name);
          } catch (err) {
            failed.push(stepFailure('namespace', { kind: 'Namespace', name }, err));
          }
        }),
      );
    }
    return {
      failures: failed.sort((a, b) => (a.object.name < b.object.name ? -1 : 1)),
      restored: restored.sort(),
    };
  }

  /**
   * Our label and annotation only. Forced because these two keys are the operator's by contract: a
   * hand edit that took them over must not stop the repair; no other field is in the request.
   */
  private async applyMark(name: string, mark: { policy: string; revision: string }): Promise<void> {
    await applyObject(this.kc, renderNamespaceMarks(name, mark), { force: true });
  }
}
