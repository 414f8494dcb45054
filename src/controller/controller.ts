import type { CompileOptions } from '../inject/index.js';
import type {
  KubeConfig,
  V1ConfigMap,
  V1MutatingWebhookConfiguration,
  V1Namespace,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { policyPath, type SidecarPolicy } from '../api/index.js';
import { Informer, type InformerEvent } from '../kube/index.js';
import { INJECTOR_CONFIGMAP, MANAGED_BY, MANAGED_BY_LABEL } from '../render/injector-configmap.js';
import type { EventRecorder } from './events.js';
import { createControllerMetrics, type ControllerMetrics } from './metrics.js';
import { WorkQueue } from './queue.js';
import { Reconciler, TerminalError, type CertificateView } from './reconciler.js';
import { describeObject, failuresOf, retryAction } from './step-failure.js';
import type { WebhookTarget } from '../render/webhook-configuration.js';
import { configMapKeys, namespaceKeys, podKeys, policyKeys, webhookKeys, type Keys } from './watches.js';
import { PodIndex, podEventMatters } from './pod-index.js';

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
  clock?: () => Date;
}

/**
 * The SidecarPolicy controller: informers on everything it reads and owns feed a work queue of
 * policy names; workers reconcile them. Started when this replica leads, stopped when it does not.
 */
export class Controller {
  private readonly metrics: ControllerMetrics;
  private readonly informers: { start(): unknown; stop(): Promise<void>; synced: Promise<void> }[] = [];
  private readonly webhooks: Informer<V1MutatingWebhookConfiguration>;
  private readonly policies: Informer<SidecarPolicy>;
  private readonly pods: PodIndex;
  private readonly queue: WorkQueue<string>;
  private readonly reconciler: Reconciler;
  private readonly workers: Promise<void>[] = [];
  private resync: ReturnType<typeof setInterval> | undefined;
  private running = false;
  private markStopped!: () => void;
  private readonly stopped = new Promise<void>((resolve) => (this.markStopped = resolve));
  private active = 0;

  constructor(private readonly o: ControllerOptions) {
    this.metrics = createControllerMetrics(o.registry);
    const log = o.log;
    const ns = o.operatorNamespace;
    this.policies = new Informer<SidecarPolicy>(o.kc, {
      path: policyPath(),
      ...(o.policySelector ? { labelSelector: o.policySelector } : {}),
      log,
    });
    const namespaces = new Informer<V1Namespace>(o.kc, { path: '/api/v1/namespaces', log });
    const configMap = new Informer<V1ConfigMap>(o.kc, {
      path: `/api/v1/namespaces/${ns}/configmaps`,
      fieldSelector: `metadata.name=${INJECTOR_CONFIGMAP}`,
      log,
    });
    const webhooks = (this.webhooks = new Informer<V1MutatingWebhookConfiguration>(o.kc, {
      path: '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations',
      labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY}`,
      log,
    }));
    const pods = (this.pods = new PodIndex(o.kc, log));
    this.informers.push(this.policies, namespaces, configMap, webhooks, pods.informer);
    const depth = this.metrics.queueDepth.labels(CONTROLLER_NAME);
    const retries = this.metrics.queueRetries.labels(CONTROLLER_NAME);
    this.queue = new WorkQueue<string>({
      ...(o.backoff ?? {}),
      ...(o.rateLimit ? { rateLimit: o.rateLimit } : {}),
      onDepth: (d) => depth.set(d),
      onRetry: () => retries.inc(),
    });
    this.reconciler = new Reconciler({
      kc: o.kc,
      log,
      caches: { policies: this.policies, namespaces, configMap, webhooks },
      pods,
      operatorNamespace: ns,
      target: o.target,
      compile: o.compile,
      certificate: o.certificate,
      ...(o.certManager ? { certManager: o.certManager } : {}),
      events: o.events,
      sharded: o.policySelector !== undefined,
      clock: o.clock ?? (() => new Date()),
    });
    this.policies.onEvent((e) => this.enqueue(policyKeys(e, this.policies.list(), namespaces.list())));
    namespaces.onEvent((e) => this.enqueue(namespaceKeys(e, this.policies.list())));
    configMap.onEvent((e) => this.enqueue(configMapKeys(e, this.policies.list())));
    pods.informer.onEvent((e) => {
      if (!this.running || !podEventMatters(e)) return;
      const keys = podKeys(e.object.metadata?.namespace ?? '', namespaces);
      for (const k of keys) {
        // Only policies this controller reconciles (sharded controllers see every pod).
        if (!this.policies.get(k)) continue;
        this.metrics.queueAdds.labels(CONTROLLER_NAME).inc();
        this.queue.addAfter(k, o.podEventDelayMs ?? 1000);
      }
    });
    webhooks.onEvent((e: InformerEvent<V1MutatingWebhookConfiguration>) => {
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

  /** Queues every policy (resync, a new certificate). */
  enqueueAll(): void {
    this.enqueue('all');
  }

  private enqueue(keys: Keys): void {
    if (!this.running) return;
    const names = keys === 'all' ? this.policies.list().map((p) => p.metadata?.name ?? '') : keys;
    for (const k of names) {
      this.metrics.queueAdds.labels(CONTROLLER_NAME).inc();
      this.queue.add(k);
    }
    if (keys === 'all' && this.o.policySelector === undefined) {
      // Orphans: webhook configurations whose policy is gone get a reconcile that removes them.
      for (const w of this.webhookConfigurations()) {
        const name = w.metadata?.name ?? '';
        if (!this.policies.get(name)) this.queue.add(name);
      }
    }
  }

  /** Resolves once no key waits and none is being reconciled (delayed re-adds aside). */
  async idle(pollMs = 10): Promise<void> {
    while (this.running && (this.queue.length > 0 || this.active > 0)) {
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  async start(): Promise<void> {
    this.running = true;
    for (const i of this.informers) i.start();
    // stop() during the first list (leadership lost meanwhile) ends the wait.
    await Promise.race([Promise.all(this.informers.map((i) => i.synced)), this.stopped]);
    if (!this.running) return;
    this.o.log.info({ policies: this.policies.list().length }, 'caches synced, reconciling');
    this.ensureConfigMap();
    this.enqueueAll();
    for (let i = 0; i < (this.o.workers ?? 4); i++) this.workers.push(this.work());
    this.resync = setInterval(() => {
      this.ensureConfigMap();
      this.enqueueAll();
    }, this.o.resyncPeriodMs ?? 300_000);
  }

  /** With no policy, nothing else writes the ConfigMap the webhook's readiness waits for. */
  private ensureConfigMap(): void {
    this.reconciler.ensureConfigMap().catch((err: unknown) => {
      this.o.log.warn({ err }, 'injector ConfigMap not written; retrying at the next resync');
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    this.markStopped();
    if (this.resync) clearInterval(this.resync);
    this.queue.shutDown();
    await Promise.all(this.informers.map((i) => i.stop()));
    await Promise.all(this.workers.splice(0));
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      this.active++;
      try {
        await this.process(key);
      } finally {
        this.active--;
        this.queue.done(key);
      }
    }
  }

  private async process(key: string): Promise<void> {
    const end = this.metrics.reconcileTime.labels(CONTROLLER_NAME).startTimer();
    const total = (result: string) => this.metrics.reconcileTotal.labels(CONTROLLER_NAME, result).inc();
    try {
      const res = await this.reconciler.reconcile(key);
      this.queue.forget(key);
      if (res.requeueAfterMs !== undefined) {
        this.queue.addAfter(key, res.requeueAfterMs);
        total('requeue_after');
      } else {
        total('success');
      }
    } catch (err) {
      if (err instanceof TerminalError) {
        this.queue.forget(key);
        total('error');
        this.o.log.warn(
          { policy: key, reason: err.message },
          'policy cannot be reconciled until it is edited',
        );
        return;
      }
      if (!this.running) return;
      const failures = failuresOf(err, key);
      const delayMs = this.queue.addRateLimited(key);
      this.metrics.reconcileErrors.labels(CONTROLLER_NAME).inc();
      if (retryAction(failures) === 'requeue') {
        total('requeue');
        this.o.log.debug({ policy: key, delayMs }, 'conflict, requeued');
      } else {
        total('error');
        this.o.log.warn(
          {
            policy: key,
            failures: failures.map((f) => ({ step: f.step, object: describeObject(f.object), ...f.failure })),
            delayMs,
            ...(failures.some((f) => f.step === 'reconcile') ? { err } : {}),
          },
          'reconcile failed, retrying',
        );
      }
    } finally {
      end();
    }
  }
}
