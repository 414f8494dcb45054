import type { CompileOptions } from '../../inject/index.js';
import type {
  KubeConfig,
  V1ConfigMap,
  V1MutatingWebhookConfiguration,
  V1Namespace,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { policyPath, type SidecarPolicy } from '../../api/index.js';
import { Informer, ReconcileLoop, type EventRecorder } from '../../kube/index.js';
import {
  INJECTOR_TEMPLATE_SELECTOR,
  LEGACY_INJECTOR_CONFIGMAP,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  templatePolicy,
} from '../../render/injector-configmap.js';
import type { WebhookTarget } from '../../render/webhook-configuration.js';
import { podEventMatters } from '../../status/index.js';
import { AdmissionChecker } from '../admission-check/checker.js';
import { PodIndex } from '../pod-index.js';
import type { CertificateView } from '../webhooks/webhooks.js';
import { createPolicyReconciler } from './assemble.js';
import type { PolicyReconciler } from './reconciler.js';
import { configMapKeys, namespaceKeys, podKeys, policyKeys, webhookKeys, type Keys } from './watches.js';

export const CONTROLLER_NAME = 'sidecarpolicy';

export interface ControllerOptions {
  kc: KubeConfig;
  log: Logger;
  registry: Registry;
  operatorNamespace: string;
  target: WebhookTarget;
  /** What the API server supports (native sidecars, the sleep lifecycle action), and the default init image. */
  compile: CompileOptions;
  certificate: () => CertificateView | undefined;
  /** cert-manager issues (Certificate `ns/name`): annotate for cainjector, leave caBundle to it. */
  certManager?: { certificate: string };
  /** Called on every change of an owned webhook configuration (a caBundle may now be distributed). */
  onWebhookChange?: () => void;
  events: EventRecorder;
  /**
   * Reconcile only policies matching this label selector (several operators sharing a cluster,
   * each its own set). A sharded controller never removes leftovers of policies it cannot see.
   */
  policySelector?: string;
  /** Every policy is reconciled at this interval whatever happened (default 5 min). */
  resyncPeriodMs?: number;
  /** Parallel reconciles of different keys (default 4). */
  workers?: number;
  /** Per-key retry backoff (default 5 ms doubling to 5 min). */
  backoff?: { baseDelayMs: number; maxDelayMs: number };
  /** Overall limit on retries (default 10/s, burst 100). */
  rateLimit?: { qps: number; burst: number };
  /**
   * How long a pod event waits before its policy is reconciled (default 1 s): the pods of a
   * scale-up land in one reconcile and one status write.
   */
  podEventDelayMs?: number;
  /** How long a deleting policy's failing cleanup is retried before its finalizer goes anyway (5 min). */
  cleanupTimeoutMs?: number;
  /** The operator may restart workloads for rollout strategy Restart (default true). */
  rolloutRestart?: boolean;
  /** Count pods from a metadata-only watch of every pod (needs `list`, `watch` pods); default true. */
  countPods?: boolean;
  clock?: () => Date;
  /**
   * Dry-run a representative injected pod in every governed namespace (PodsAdmissible); needs
   * create on pods (default true).
   */
  admissionCheck?: boolean;
}

/**
 * The SidecarPolicy controller: informers on everything it reads and owns feed the reconcile loop
 * with policy names; the policy reconciler has each concern's writer converge. Started when this
 * replica leads, stopped when it does not.
 */
export class Controller {
  private readonly informers: { start(): unknown; stop(): Promise<void>; synced: Promise<void> }[] = [];
  private readonly webhooks: Informer<V1MutatingWebhookConfiguration>;
  private readonly templateConfigMaps: Informer<V1ConfigMap>;
  private readonly policies: Informer<SidecarPolicy>;
  private readonly loop: ReconcileLoop;
  private readonly reconciler: PolicyReconciler;
  private readonly admission: AdmissionChecker | undefined;
  private resync: ReturnType<typeof setInterval> | undefined;
  private markStopped!: () => void;
  private readonly stopped = new Promise<void>((resolve) => (this.markStopped = resolve));

  constructor(private readonly o: ControllerOptions) {
    const log = o.log;
    const ns = o.operatorNamespace;
    this.policies = new Informer<SidecarPolicy>(o.kc, {
      path: policyPath(),
      ...(o.policySelector ? { labelSelector: o.policySelector } : {}),
      log,
    });
    const namespaces = new Informer<V1Namespace>(o.kc, { path: '/api/v1/namespaces', log });
    const configMap = (this.templateConfigMaps = new Informer<V1ConfigMap>(o.kc, {
      path: `/api/v1/namespaces/${ns}/configmaps`,
      labelSelector: INJECTOR_TEMPLATE_SELECTOR,
      log,
    }));
    const legacyConfigMap = new Informer<V1ConfigMap>(o.kc, {
      path: `/api/v1/namespaces/${ns}/configmaps`,
      fieldSelector: `metadata.name=${LEGACY_INJECTOR_CONFIGMAP}`,
      log,
    });
    const webhooks = (this.webhooks = new Informer<V1MutatingWebhookConfiguration>(o.kc, {
      path: '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations',
      labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY}`,
      log,
    }));
    const pods = new PodIndex(o.kc, log);
    this.informers.push(this.policies, namespaces, configMap, legacyConfigMap, webhooks);
    // Not counting pods: the pod watch never starts, and the index stays empty.
    if (o.countPods !== false) this.informers.push(pods.informer);
    const clock = o.clock ?? (() => new Date());
    this.admission =
      o.admissionCheck === false
        ? undefined
        : new AdmissionChecker({
            kc: o.kc,
            log,
            operatorNamespace: ns,
            events: o.events,
            registry: o.registry,
            clock,
            // A burst of verdicts (a leader's first checks) lands in one reconcile.
            onChange: (policy) => this.loop.addAfter(policy, 100),
          });
    this.reconciler = createPolicyReconciler({
      kc: o.kc,
      log,
      caches: { policies: this.policies, namespaces, configMap, legacyConfigMap, webhooks },
      pods,
      operatorNamespace: ns,
      target: o.target,
      compile: o.compile,
      certificate: o.certificate,
      ...(o.certManager ? { certManager: o.certManager } : {}),
      events: o.events,
      sharded: o.policySelector !== undefined,
      ...(o.cleanupTimeoutMs !== undefined ? { cleanupTimeoutMs: o.cleanupTimeoutMs } : {}),
      clock,
      ...(this.admission ? { admission: this.admission } : {}),
      ...(o.rolloutRestart !== undefined ? { rolloutRestart: o.rolloutRestart } : {}),
      ...(o.countPods !== undefined ? { countPods: o.countPods } : {}),
    });
    this.loop = new ReconcileLoop({
      name: CONTROLLER_NAME,
      log,
      registry: o.registry,
      reconciler: this.reconciler,
      ...(o.workers !== undefined ? { workers: o.workers } : {}),
      ...(o.backoff ? { backoff: o.backoff } : {}),
      ...(o.rateLimit ? { rateLimit: o.rateLimit } : {}),
    });
    this.policies.onEvent((e) => this.enqueue(policyKeys(e, this.policies.list(), namespaces.list())));
    namespaces.onEvent((e) => this.enqueue(namespaceKeys(e, this.policies.list())));
    configMap.onEvent((e) => {
      this.enqueue(configMapKeys(e));
      // A policy's ConfigMap written may be the last one an older release's shared ConfigMap waited for.
      if (e.type === 'ADDED' && legacyConfigMap.list().length > 0) this.retireLegacyConfigMap();
    });
    pods.informer.onEvent((e) => {
      if (!this.loop.isRunning || !podEventMatters(e)) return;
      for (const k of podKeys(e.object.metadata?.namespace ?? '', namespaces)) {
        // Only policies this controller reconciles (sharded controllers see every pod).
        if (this.policies.get(k)) this.loop.addAfter(k, o.podEventDelayMs ?? 1000);
      }
    });
    webhooks.onEvent((e) => {
      this.enqueue(webhookKeys(e));
      o.onWebhookChange?.();
    });
  }

  /** The webhook configurations as cached (the certificate loop checks their caBundles). */
  webhookConfigurations(): V1MutatingWebhookConfiguration[] {
    return this.webhooks.list();
  }

  /**
   * The webhook configurations of the policies this controller reconciles (all of ours unless
   * sharded), for the certificate loop's distribution check; undefined until the caches synced.
   */
  ownedWebhookConfigurations(): V1MutatingWebhookConfiguration[] | undefined {
    if (!this.webhooks.hasSynced || !this.policies.hasSynced) return undefined;
    const all = this.webhooks.list();
    if (this.o.policySelector === undefined) return all;
    return all.filter((w) => this.policies.get(w.metadata?.name ?? '') !== undefined);
  }

  /** The policies this controller reconciles, as cached with their status; undefined until synced. */
  cachedPolicies(): SidecarPolicy[] | undefined {
    return this.policies.hasSynced ? this.policies.list() : undefined;
  }

  /** Queues every policy (resync, a new certificate). */
  enqueueAll(): void {
    this.enqueue('all');
  }

  private enqueue(keys: Keys): void {
    if (!this.loop.isRunning) return;
    const names = keys === 'all' ? this.policies.list().map((p) => p.metadata?.name ?? '') : keys;
    for (const k of names) this.loop.add(k);
    if (keys === 'all' && this.o.policySelector === undefined) {
      // Orphans: webhook configurations and template ConfigMaps whose policy is gone get a
      // reconcile that removes them.
      for (const w of this.webhookConfigurations()) {
        const name = w.metadata?.name ?? '';
        if (!this.policies.get(name)) this.loop.add(name);
      }
      for (const cm of this.templateConfigMaps.list()) {
        const name = templatePolicy(cm);
        if (name !== undefined && !this.policies.get(name)) this.loop.add(name);
      }
    }
  }

  /** Resolves once no key waits and none is being reconciled (delayed re-adds aside). */
  async idle(pollMs = 10): Promise<void> {
    await this.loop.idle(pollMs);
  }

  async start(): Promise<void> {
    this.loop.open();
    for (const i of this.informers) i.start();
    // stop() during the first list (leadership lost meanwhile) ends the wait.
    await Promise.race([Promise.all(this.informers.map((i) => i.synced)), this.stopped]);
    if (!this.loop.isRunning) return;
    this.o.log.info({ policies: this.policies.list().length }, 'caches synced, reconciling');
    this.retireLegacyConfigMap();
    this.enqueueAll();
    this.loop.start();
    this.resync = setInterval(() => {
      this.retireLegacyConfigMap();
      this.enqueueAll();
    }, this.o.resyncPeriodMs ?? 300_000);
  }

  /** An older release's shared injector ConfigMap goes once every policy has its own (see InjectorTemplates). */
  private retireLegacyConfigMap(): void {
    this.reconciler
      .retireLegacyConfigMap()
      .then((removed) => {
        if (removed)
          this.o.log.info({ configMap: LEGACY_INJECTOR_CONFIGMAP }, 'shared injector ConfigMap removed');
      })
      .catch((err: unknown) => {
        this.o.log.warn({ err }, 'shared injector ConfigMap not removed; retrying at the next resync');
      });
  }

  async stop(): Promise<void> {
    this.markStopped();
    this.admission?.stop();
    if (this.resync) clearInterval(this.resync);
    const workers = this.loop.stop();
    await Promise.all(this.informers.map((i) => i.stop()));
    await workers;
  }
}
