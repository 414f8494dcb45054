import type { KubeConfig, V1MutatingWebhookConfiguration } from '@kubernetes/client-node';
import type { SidecarPolicy } from '../../api/index.js';
import { isBundleDistributed } from '../../certs/authority.js';
import { canonicalJson } from '../../inject/index.js';
import { applyObject, stepFailure, type Cache, type ObjectRef, type StepFailure } from '../../kube/index.js';
import { containsDesired } from '../../render/contains.js';
import {
  caBundlesOf,
  forCertManager,
  renderWebhookConfiguration,
  type WebhookTarget,
} from '../../render/webhook-configuration.js';
import { certificateFacts, type PolicyFacts } from '../../status/index.js';
import { deleteWebhookConfiguration } from '../cleanup.js';
import { conditionMessage } from '../steps.js';

/** The serving certificate as the controllers need it: the bundle to distribute and its expiry. */
export interface CertificateView {
  bundlePem: string;
  notAfter: Date;
}

/** What a sync did: nothing, a write of something new, or a repair of what someone else changed. */
export type SyncOutcome = 'unchanged' | 'applied' | 'recreated' | 'restored';

export interface WebhookConfigurationsOptions {
  kc: KubeConfig;
  operatorNamespace: string;
  target: WebhookTarget;
  /** Our MutatingWebhookConfigurations as watched (managed-by label). */
  cache: Cache<V1MutatingWebhookConfiguration>;
  /** Set when cert-manager issues: its cainjector writes the caBundles, Certificate `ns/name`. */
  certManager?: { certificate: string };
}

/** The webhook and certificate facts of a policy, and what the apply did. */
export interface WebhookFacts {
  facts: Pick<PolicyFacts, 'webhook' | 'certificate'>;
  outcome: SyncOutcome;
  failure?: StepFailure;
}

const webhookRef = (name: string): ObjectRef => ({ kind: 'MutatingWebhookConfiguration', name });

/**
 * One MutatingWebhookConfiguration per policy: rendered from the policy and the certificate bundle,
 * compared with the cached one, force-applied only when it differs.
 *
 * A write of exactly what the cache last showed in place is a repair: someone deleted or changed the
 * object since. Only the cache's word counts (never our own write): a reconcile that runs before the
 * watch delivered our write sees the older object, which is not drift. After a repair the object
 * must be seen in place again before another write counts as one. Remembered for this process only.
 */
export class WebhookConfigurations {
  /** Webhook configuration name → the desired part last seen in place. */
  private readonly seen = new Map<string, string>();

  constructor(private readonly o: WebhookConfigurationsOptions) {}

  /** Converges the policy's configuration on `bundlePem`. */
  async sync(policy: SidecarPolicy, bundlePem: string): Promise<SyncOutcome> {
    const rendered = renderWebhookConfiguration(policy, {
      caBundle: bundlePem,
      target: this.o.target,
      operatorNamespace: this.o.operatorNamespace,
    });
    const desired = this.o.certManager ? forCertManager(rendered, this.o.certManager.certificate) : rendered;
    const name = desired.metadata?.name ?? '';
    const current = this.o.cache.get(name);
    const wanted = canonicalJson({ metadata: desired.metadata, webhooks: desired.webhooks });
    const repair = this.seen.get(name) === wanted;
    if (current && containsDesired(current, { metadata: desired.metadata, webhooks: desired.webhooks })) {
      this.seen.set(name, wanted);
      return 'unchanged';
    }
    await applyObject(this.o.kc, desired, { force: true });
    if (!repair) return 'applied';
    this.seen.delete(name);
    return current ? 'restored' : 'recreated';
  }

  /** Deletes a policy's configuration, only if it carries our label (never a stranger's). */
  async delete(name: string): Promise<void> {
    this.seen.delete(name);
    const cached = this.o.cache.get(name);
    await deleteWebhookConfiguration(this.o.kc, name, cached ? { seen: cached } : {});
  }

  /** Whether a configuration of `name` is cached (a leftover once the policy is gone). */
  /**
   * What the API server trusts of the policy's webhook as watched (its caBundles): an admission
   * verdict that depended on calling it is stale once they change (cainjector, a rotation).
   */
  trust(name: string): string {
    return (this.o.cache.get(name)?.webhooks ?? []).map((w) => w.clientConfig.caBundle ?? '').join(',');
  }

  has(name: string): boolean {
    return this.o.cache.get(name) !== undefined;
  }

  /**
   * Applies the policy's configuration (once it compiles and a certificate exists) and says what
   * the policy's WebhookConfigured and CertificateReady conditions rest on.
   */
  async converge(
    policy: SidecarPolicy,
    compiles: boolean,
    cert: CertificateView | undefined,
    now: Date,
  ): Promise<WebhookFacts> {
    const name = policy.metadata?.name ?? '';
    if (!cert) {
      const webhook = compiles
        ? ({ state: 'WaitingForCertificate' } as const)
        : ({ state: 'Failed', error: 'the policy does not compile' } as const);
      return { facts: { webhook, certificate: { state: 'Missing' } }, outcome: 'unchanged' };
    }
    if (!compiles) {
      return {
        facts: {
          webhook: { state: 'Failed', error: 'the policy does not compile' },
          certificate: this.certificate(name, cert, now, undefined),
        },
        outcome: 'unchanged',
      };
    }
    let outcome: SyncOutcome = 'unchanged';
    let failure: StepFailure | undefined;
    try {
      outcome = await this.sync(policy, cert.bundlePem);
    } catch (err) {
      failure = stepFailure('webhook', webhookRef(name), err);
    }
    return {
      facts: {
        webhook: failure ? { state: 'Failed', error: conditionMessage(failure) } : { state: 'Applied' },
        certificate: this.certificate(name, cert, now, failure === undefined),
      },
      outcome,
      ...(failure ? { failure } : {}),
    };
  }

  private certificate(
    name: string,
    cert: CertificateView,
    now: Date,
    applied: boolean | undefined,
  ): PolicyFacts['certificate'] {
    const cached = this.o.cache.get(name);
    return certificateFacts({
      notAfter: cert.notAfter,
      now,
      inCache: cached !== undefined && isBundleDistributed(cert.bundlePem, caBundlesOf(cached)),
      applied,
      certManager: this.o.certManager !== undefined,
    });
  }
}
