import type { CompileOptions } from '../inject/index.js';
import type {
  KubeConfig,
  V1ConfigMap,
  V1MutatingWebhookConfiguration,
  V1Namespace,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { POLICY_LABEL, policyPath, type SidecarPolicy, type SidecarPolicyStatus } from '../api/index.js';
import { describeFailure, isNotFound, requestJson } from '../kube/index.js';
import { resolveNamespaceMarks, type ResolvedMarks } from '../render/namespace-marks.js';
import { INJECTOR_CONFIGMAP, parseInjectorConfigMap } from '../render/injector-configmap.js';
import {
  findCondition,
  policyConditions,
  setConditions,
  statusChanged,
  summarizeReady,
  type ConditionInput,
  type PolicyFacts,
} from '../status/index.js';
import { applyPolicyStatus, Writes, type SyncOutcome } from './writes.js';
import {
  ReconcileError,
  stepFailure,
  type ObjectRef,
  type ReconcileStep,
  type StepFailure,
} from './step-failure.js';
import { TemplateCache } from './template-cache.js';
import { WrittenStatus } from './written-status.js';
import { countPods, type PodCounts } from './pod-counts.js';
import type { PodIndex } from './pod-index.js';
import { Rollout, type RolloutOutcome } from './rollout.js';
import { EventReason, type EventRecorder, type EventType } from './events.js';
import { addFinalizer, hasFinalizer } from './finalizer.js';
import { removeFinalizer } from './cleanup.js';
import { caBundlesOf, type WebhookTarget } from '../render/webhook-configuration.js';
import { isBundleDistributed } from '../certs/index.js';

/** Read access to an informer's cache. */
export interface Cache<T> {
  list(): T[];
  get(name: string, namespace?: string): T | undefined;
}

export interface ControllerCaches {
  policies: Cache<SidecarPolicy>;
  namespaces: Cache<V1Namespace>;
  configMap: Cache<V1ConfigMap>;
  webhooks: Cache<V1MutatingWebhookConfiguration>;
}

/** The serving certificate as the controller needs it: the bundle to distribute and its expiry. */
export interface CertificateView {
  bundlePem: string;
  notAfter: Date;
}

export interface ReconcilerOptions {
  kc: KubeConfig;
  log: Logger;
  caches: ControllerCaches;
  /** Every pod's metadata (counts, rollout). */
  pods: PodIndex;
  operatorNamespace: string;
  target: WebhookTarget;
  /**
   * What the API server supports (native sidecars resolve sidecarMode Auto; the sleep action), and the
   * init image for policies that name none.
   */
  compile: CompileOptions;
  certificate: () => CertificateView | undefined;
  /** Set when cert-manager issues: its cainjector writes the caBundles, named Certificate `ns/name`. */
  certManager?: { certificate: string };
  events: EventRecorder;
  /** Only some policies are ours (a label selector): leave what others' policies left alone. */
  sharded?: boolean;
  clock: () => Date;
  /** How often a rollout in progress looks at its workloads again (default 2 s). */
  rolloutPollMs?: number;
}

export interface ReconcileResult {
  requeueAfterMs?: number;
}

/** A failure nothing but an edit of the policy can fix: reported, not retried. */
export class TerminalError extends Error {}

const live = (p: SidecarPolicy): boolean => p.metadata?.deletionTimestamp === undefined;

const policyRef = (name: string): ObjectRef => ({ kind: 'SidecarPolicy', name });
const webhookRef = (name: string): ObjectRef => ({ kind: 'MutatingWebhookConfiguration', name });
const configMapRef = (namespace: string): ObjectRef => ({
  kind: 'ConfigMap',
  namespace,
  name: INJECTOR_CONFIGMAP,
});

/** A condition message from a failure: the API server's own words. */
const conditionMessage = (f: StepFailure): string => describeFailure(f.failure).slice(0, 512);

/**
 * Reconciles one policy, level-based: whatever event brought the key, it re-reads the caches and
 * converges everything the policy (and, for shared objects, every policy) implies.
 * gather → render → apply (each step independent, failures collected) → status only if changed.
 */
export class Reconciler {
  private readonly templates: TemplateCache;
  private readonly writes: Writes;
  private readonly rollout: Rollout;
  private readonly written = new WrittenStatus();

  constructor(private readonly o: ReconcilerOptions) {
    this.templates = new TemplateCache(o.compile);
    this.writes = new Writes(o.kc, o.operatorNamespace, o.target);
    this.rollout = new Rollout({
      kc: o.kc,
      pods: o.pods,
      events: o.events,
      log: o.log,
      clock: o.clock,
      servedRevision: (name) => this.servedRevision(name),
      ...(o.rolloutPollMs !== undefined ? { pollMs: o.rolloutPollMs } : {}),
    });
  }

  async reconcile(name: string): Promise<ReconcileResult> {
    const log = this.o.log.child({ policy: name });
    const policy = this.o.caches.policies.get(name);
    if (!policy) return this.cleanupIfGone(name, log);
    if (!live(policy)) return this.finalize(policy, log);
    if (!hasFinalizer(policy)) {
      try {
        await addFinalizer(this.o.kc, policy);
      } catch (err) {
        // Deleted since the cache saw it: its deletion comes through the watch.
        if (isNotFound(err)) return {};
        throw new ReconcileError([stepFailure('finalizer', policyRef(name), err)]);
      }
      log.debug('finalizer added');
    }
    return this.converge(this.written.current(policy), log);
  }

  private livePolicies(): SidecarPolicy[] {
    return this.o.caches.policies.list().filter(live);
  }

  private resolve(policies: SidecarPolicy[]): ResolvedMarks {
    const revisions = new Map<string, string>();
    for (const p of policies) {
      const t = this.templates.get(p);
      if (t.template) revisions.set(p.metadata?.name ?? '', t.template.revision);
    }
    return resolveNamespaceMarks(policies, this.o.caches.namespaces.list(), {
      operatorNamespace: this.o.operatorNamespace,
      revisions,
    });
  }

  /**
   * Writes the injector ConfigMap when it does not exist (no policy yet): every replica reports
   * ready only once it has loaded the templates, an empty set included.
   */
  async ensureConfigMap(): Promise<void> {
    if (this.o.caches.configMap.get(INJECTOR_CONFIGMAP, this.o.operatorNamespace)) return;
    await this.writes.syncConfigMap(this.o.caches.configMap, this.livePolicies(), this.templates);
  }

  private async converge(policy: SidecarPolicy, log: Logger): Promise<ReconcileResult> {
    const name = policy.metadata?.name ?? '';
    const policies = this.livePolicies();
    const compiled = this.templates.get(policy);
    const cert = this.o.certificate();
    const now = this.o.clock();
    const resolved = this.resolve(policies);
    const governed = resolved.governed.get(name) ?? [];
    const failures: StepFailure[] = [];
    const configMap = await this.step(failures, 'configmap', configMapRef(this.o.operatorNamespace), () =>
      this.writes.syncConfigMap(this.o.caches.configMap, policies, this.templates),
    );
    const facts: PolicyFacts = {
      revision: compiled.template?.revision,
      invalid: compiled.error,
      ...(configMap ? { configMapError: conditionMessage(configMap) } : {}),
      namespaces: { governed: governed.length, failed: [] },
      conflicts: resolved.conflicts.get(name) ?? [],
      ...(await this.webhookFacts(policy, compiled.template !== undefined, cert, now, failures)),
    };
    const marks = await this.writes.syncMarks(this.o.caches.namespaces.list(), resolved, name);
    failures.push(...marks.failures);
    facts.namespaces.failed = marks.failures.map((f) => ({
      namespace: f.object.name,
      error: conditionMessage(f),
    }));
    for (const ns of marks.restored)
      this.recordOn(policy, 'Warning', EventReason.MarksRepaired, `restored the marks of namespace ${ns}`);
    const pods = await this.podFacts(policy, compiled.template?.revision, governed, failures);
    const { counts, rollout } = pods;
    const inputs = [...policyConditions(facts), ...pods.conditions];
    const ready = summarizeReady(inputs);
    const status: SidecarPolicyStatus = {
      observedGeneration: policy.metadata?.generation,
      revision: compiled.template?.revision ?? policy.status?.revision,
      namespaces: governed.length,
      governedNamespaces: governed.slice(0, 100),
      injectedPods: counts.injected,
      outdatedPods: counts.outdated,
      uninjectedPods: counts.uninjected,
      ...rollout?.status,
      conditions: setConditions(
        policy.status?.conditions ?? [],
        [ready, ...inputs],
        policy.metadata?.generation,
        now,
      ),
    };
    const statusFailure = await this.writeStatus(policy, status, [ready, ...inputs], log);
    if (statusFailure) failures.push(statusFailure);
    if (failures.length > 0) throw new ReconcileError(failures);
    if (compiled.error) throw new TerminalError(compiled.error);
    return pods.result;
  }

  /** The revision of a policy's entry in the cached injector ConfigMap. */
  private servedRevision(name: string): string | undefined {
    const cm = this.o.caches.configMap.get(INJECTOR_CONFIGMAP, this.o.operatorNamespace);
    const raw = cm?.data?.[name];
    if (raw === undefined) return undefined;
    return parseInjectorConfigMap({ data: { [name]: raw } }).templates.get(name)?.revision;
  }

  /** Pod counts from the pod cache, and the rollout step (strategy Restart) once the policy compiles. */
  private async podFacts(
    policy: SidecarPolicy,
    revision: string | undefined,
    governed: readonly string[],
    failures: StepFailure[],
  ): Promise<{
    counts: PodCounts;
    rollout?: RolloutOutcome;
    conditions: ConditionInput[];
    result: ReconcileResult;
  }> {
    if (revision === undefined)
      return { counts: { injected: 0, outdated: 0, uninjected: 0 }, conditions: [], result: {} };
    const counts = countPods(this.o.pods.inNamespaces(governed), revision, policy.spec.selector.podSelector);
    const rollout = await this.rollout.reconcile(policy, revision, governed, counts.outdated);
    failures.push(...rollout.failures);
    const result = rollout.requeueAfterMs !== undefined ? { requeueAfterMs: rollout.requeueAfterMs } : {};
    return { counts, rollout, conditions: [rollout.condition], result };
  }

  /** Applies the policy's webhook configuration (once it compiles and a certificate exists). */
  private async webhookFacts(
    policy: SidecarPolicy,
    compiles: boolean,
    cert: CertificateView | undefined,
    now: Date,
    failures: StepFailure[],
  ): Promise<Pick<PolicyFacts, 'webhook' | 'certificate'>> {
    const name = policy.metadata?.name ?? '';
    if (!cert) {
      const webhook = compiles
        ? ({ state: 'WaitingForCertificate' } as const)
        : ({ state: 'Failed', error: 'the policy does not compile' } as const);
      return { webhook, certificate: { state: 'Missing' } };
    }
    if (!compiles) {
      return {
        webhook: { state: 'Failed', error: 'the policy does not compile' },
        certificate: this.certificateFacts(name, cert, now, undefined),
      };
    }
    let outcome = 'unchanged' as SyncOutcome;
    const failed = await this.step(failures, 'webhook', webhookRef(name), async () => {
      const cached = this.o.caches.webhooks.get(name);
      outcome = await this.writes.syncWebhook(cached, policy, cert.bundlePem, this.o.certManager);
    });
    if (outcome === 'recreated' || outcome === 'restored')
      this.recordOn(
        policy,
        'Warning',
        EventReason.WebhookRepaired,
        `${outcome} MutatingWebhookConfiguration ${name}, which had been ${outcome === 'recreated' ? 'deleted' : 'changed'}`,
      );
    return {
      webhook:
        failed === undefined ? { state: 'Applied' } : { state: 'Failed', error: conditionMessage(failed) },
      certificate: this.certificateFacts(name, cert, now, failed === undefined),
    };
  }

  /**
   * Expired, not yet trusted by the API server (the policy's caBundle lacks a CA of the bundle), or
   * valid. The operator's own apply carries the bundle, so success means distributed; under
   * cert-manager the cached configuration shows whether cainjector has caught up.
   */
  private certificateFacts(
    name: string,
    cert: CertificateView,
    now: Date,
    applied: boolean | undefined,
  ): PolicyFacts['certificate'] {
    const notAfter = cert.notAfter;
    if (notAfter <= now) return { state: 'Expired', notAfter };
    const cached = this.o.caches.webhooks.get(name);
    const inCache = cached !== undefined && isBundleDistributed(cert.bundlePem, caBundlesOf(cached));
    const distributed = this.o.certManager || applied === undefined ? inCache : applied;
    return { state: distributed ? 'Valid' : 'NotDistributed', notAfter };
  }

  /** Runs one apply step; its failure, if any, is returned and collected. */
  private async step(
    failures: StepFailure[],
    step: ReconcileStep,
    object: ObjectRef,
    fn: () => Promise<unknown>,
  ): Promise<StepFailure | undefined> {
    try {
      await fn();
      return undefined;
    } catch (err) {
      const f = stepFailure(step, object, err);
      failures.push(f);
      return f;
    }
  }

  private async writeStatus(
    policy: SidecarPolicy,
    status: SidecarPolicyStatus,
    inputs: ConditionInput[],
    log: Logger,
  ): Promise<StepFailure | undefined> {
    if (!statusChanged(policy.status, status)) return undefined;
    const name = policy.metadata?.name ?? '';
    try {
      await applyPolicyStatus(this.o.kc, name, status);
    } catch (err) {
      // Deleted since the cache saw it: nothing to report on, its deletion comes through the watch.
      if (isNotFound(err)) return undefined;
      return stepFailure('status', policyRef(name), err);
    }
    this.written.remember(policy, status);
    log.info(
      { revision: status.revision, namespaces: status.namespaces, ready: inputs[0]?.status },
      'status updated',
    );
    this.recordTransitions(policy, status, inputs);
    return undefined;
  }

  private recordOn(policy: SidecarPolicy, type: EventType, reason: EventReason, message: string): void {
    this.o.events.record(
      { name: policy.metadata?.name ?? '', uid: policy.metadata?.uid ?? '' },
      type,
      reason,
      message,
    );
  }

  private recordTransitions(
    policy: SidecarPolicy,
    status: SidecarPolicyStatus,
    inputs: ConditionInput[],
  ): void {
    const before = policy.status?.conditions;
    const by = (t: string) => inputs.find((c) => c.type === t)!;
    const changed = (t: string) => {
      const prev = findCondition(before, t);
      const next = by(t);
      return prev?.status !== next.status || prev.message !== next.message;
    };
    const rendered = by('TemplateRendered');
    if (rendered.status === 'True' && status.revision !== policy.status?.revision)
      this.recordOn(policy, 'Normal', EventReason.Rendered, `rendered revision ${status.revision ?? ''}`);
    const conflict = by('Conflict');
    if (conflict.status === 'True' && changed('Conflict'))
      this.recordOn(policy, 'Warning', EventReason.Conflict, conflict.message);
    const synced = by('NamespacesSynced');
    if (synced.status === 'True' && changed('NamespacesSynced'))
      this.recordOn(policy, 'Normal', EventReason.Synced, synced.message);
    const ready = by('Ready');
    if (ready.status === 'False' && changed('Ready'))
      this.recordOn(policy, 'Warning', EventReason.Failed, ready.message);
  }

  /** Deletion: undo everything, then let the policy go. */
  private async finalize(policy: SidecarPolicy, log: Logger): Promise<ReconcileResult> {
    if (!hasFinalizer(policy)) return {};
    const name = policy.metadata?.name ?? '';
    this.written.forget(name);
    await this.cleanup(name);
    let removed: boolean;
    try {
      removed = await removeFinalizer(this.o.kc, name, { seen: policy });
    } catch (err) {
      throw new ReconcileError([stepFailure('finalizer', policyRef(name), err)]);
    }
    // Not removed: a reconcile before this one did, and the cache had not caught up.
    if (removed) log.info('policy cleaned up');
    return {};
  }

  /**
   * The policy is not in the cache. Confirm with the API server (a cache may lag behind a create),
   * then remove whatever it left behind (its finalizer was removed by hand, or we were not running).
   */
  private async cleanupIfGone(name: string, log: Logger): Promise<ReconcileResult> {
    this.written.forget(name);
    if (this.o.sharded) return {};
    try {
      await requestJson(this.o.kc, { path: policyPath(name) });
      return { requeueAfterMs: 1000 };
    } catch (err) {
      if (!isNotFound(err)) throw new ReconcileError([stepFailure('cleanup', policyRef(name), err)]);
    }
    const leftovers =
      this.o.caches.webhooks.get(name) !== undefined ||
      this.o.caches.configMap.list().some((cm) => cm.data?.[name] !== undefined) ||
      this.o.caches.namespaces.list().some((ns) => ns.metadata?.labels?.[POLICY_LABEL] === name);
    if (!leftovers) return {};
    await this.cleanup(name);
    log.info('leftovers of a deleted policy removed');
    return {};
  }

  /** Undoes what the policy implies; every step is tried, the failures are raised together. */
  private async cleanup(name: string): Promise<void> {
    const policies = this.livePolicies().filter((p) => p.metadata?.name !== name);
    const failures: StepFailure[] = [];
    await this.step(failures, 'cleanup', webhookRef(name), () =>
      this.writes.deleteWebhook(name, this.o.caches.webhooks.get(name)),
    );
    await this.step(failures, 'cleanup', configMapRef(this.o.operatorNamespace), () =>
      this.writes.syncConfigMap(this.o.caches.configMap, policies, this.templates),
    );
    const marks = await this.writes.syncMarks(this.o.caches.namespaces.list(), this.resolve(policies), name);
    failures.push(...marks.failures);
    if (failures.length > 0) throw new ReconcileError(failures);
  }
}
