import type { KubeConfig, V1Namespace } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import {
  KIND,
  POLICY_LABEL,
  policyPath,
  Reason,
  type SidecarPolicy,
  type SidecarPolicyStatus,
} from '../../api/index.js';
import {
  isNotFound,
  ReconcileError,
  requestJson,
  stepFailure,
  TerminalError,
  type Cache,
  type EventRecorder,
  type EventType,
  type ObjectRef,
  type ReconcileResult,
  type StepFailure,
} from '../../kube/index.js';
import { resolveNamespaceMarks, type ResolvedMarks } from '../../render/namespace-marks.js';
import { INJECTOR_CONFIGMAP } from '../../render/injector-configmap.js';
import {
  countPods,
  EventReason,
  policyConditions,
  ROLLOUT_CONDITION,
  setConditions,
  summarizeReady,
  type ConditionInput,
  type PodCounts,
  type PolicyFacts,
} from '../../status/index.js';
import { removeFinalizer } from '../cleanup.js';
import { conditionMessage, step } from '../steps.js';
import type { InjectorConfigMap } from '../injector-configmap/injector-configmap.js';
import type { PodIndex } from '../pod-index.js';
import type { Rollout, RolloutOutcome } from '../rollout/rollout.js';
import type { TemplateCache } from '../template-cache.js';
import type { CertificateView, SyncOutcome, WebhookConfigurations } from '../webhooks/webhooks.js';
import { addFinalizer, hasFinalizer } from './finalizer.js';
import type { NamespaceMarks } from './marks.js';
import { PolicyStatusWriter } from './status-writer.js';

export interface PolicyReconcilerOptions {
  kc: KubeConfig;
  log: Logger;
  policies: Cache<SidecarPolicy>;
  namespaces: Cache<V1Namespace>;
  /** Every pod's metadata (counts, rollout). */
  pods: PodIndex;
  /**
   * False: the installation does not let the operator list pods. Counts are unknown (absent from
   * status), RolloutComplete is Unknown, and no rollout runs. Default true.
   */
  countPods?: boolean;
  operatorNamespace: string;
  templates: TemplateCache;
  /** The writers of the other concerns, each converging its own objects. */
  configMap: InjectorConfigMap;
  webhooks: WebhookConfigurations;
  marks: NamespaceMarks;
  rollout: Rollout;
  certificate: () => CertificateView | undefined;
  events: EventRecorder;
  /** Only some policies are ours (a label selector): leave what others' policies left alone. */
  sharded?: boolean;
  clock: () => Date;
}

/** Pod counting off (`--pod-counts=false`): what status says instead of counts. */
export const PODS_NOT_COUNTED: ConditionInput = {
  type: ROLLOUT_CONDITION,
  status: 'Unknown',
  reason: Reason.PodsNotCounted,
  message:
    'pods are not counted in this installation (chart value podCounting.enabled=false, flag --pod-counts=false): ' +
    'injected, outdated and uninjected pods are unknown, and rollout strategy Restart cannot find the workloads to restart',
};

/** The three counts in status, or none of them when pods are not counted. */
const countsStatus = (c: PodCounts | undefined): SidecarPolicyStatus =>
  c ? { injectedPods: c.injected, outdatedPods: c.outdated, uninjectedPods: c.uninjected } : {};

const live = (p: SidecarPolicy): boolean => p.metadata?.deletionTimestamp === undefined;

const policyRef = (name: string): ObjectRef => ({ kind: KIND, name });
const webhookRef = (name: string): ObjectRef => ({ kind: 'MutatingWebhookConfiguration', name });
const configMapRef = (namespace: string): ObjectRef => ({
  kind: 'ConfigMap',
  namespace,
  name: INJECTOR_CONFIGMAP,
});

/**
 * The SidecarPolicy reconciler, level-based: whatever event brought the key, it re-reads the caches
 * and has every concern converge on what the policy (and, for shared objects, every policy) implies:
 * the injector ConfigMap, the webhook configuration, the namespace marks, the rollout. Each step is
 * independent and its failure stays data; the policy's status is computed from the facts and
 * written only when it changed.
 */
export class PolicyReconciler {
  private readonly status: PolicyStatusWriter;

  constructor(private readonly o: PolicyReconcilerOptions) {
    this.status = new PolicyStatusWriter(o.kc, o.events);
  }

  async reconcile(name: string): Promise<ReconcileResult> {
    const log = this.o.log.child({ policy: name });
    let policy = this.o.policies.get(name);
    if (!policy) return this.cleanupIfGone(name, log);
    if (!live(policy)) return this.finalize(policy, log);
    if (!hasFinalizer(policy)) {
      try {
        // Go on with the object as written: the status written next is remembered against its
        // resourceVersion, so a reconcile that sees it in the cache before the status comes back
        // takes that status as current (and records no transition twice).
        policy = await addFinalizer(this.o.kc, policy);
      } catch (err) {
        // Deleted since the cache saw it: its deletion comes through the watch.
        if (isNotFound(err)) return {};
        throw new ReconcileError([stepFailure('finalizer', policyRef(name), err)]);
      }
      log.debug('finalizer added');
    }
    return this.converge(this.status.current(policy), log);
  }

  /** Writes the injector ConfigMap when none exists yet (see InjectorConfigMap.ensure). */
  async ensureConfigMap(): Promise<void> {
    await this.o.configMap.ensure(this.livePolicies());
  }

  private livePolicies(): SidecarPolicy[] {
    return this.o.policies.list().filter(live);
  }

  private resolve(policies: SidecarPolicy[]): ResolvedMarks {
    const revisions = new Map<string, string>();
    for (const p of policies) {
      const t = this.o.templates.get(p);
      if (t.template) revisions.set(p.metadata?.name ?? '', t.template.revision);
    }
    return resolveNamespaceMarks(policies, this.o.namespaces.list(), {
      operatorNamespace: this.o.operatorNamespace,
      revisions,
    });
  }

  private async converge(policy: SidecarPolicy, log: Logger): Promise<ReconcileResult> {
    const name = policy.metadata?.name ?? '';
    const policies = this.livePolicies();
    const compiled = this.o.templates.get(policy);
    const cert = this.o.certificate();
    const now = this.o.clock();
    const resolved = this.resolve(policies);
    const governed = resolved.governed.get(name) ?? [];
    const failures: StepFailure[] = [];
    const configMap = await step(failures, 'configmap', configMapRef(this.o.operatorNamespace), () =>
      this.o.configMap.sync(policies),
    );
    const webhook = await this.o.webhooks.converge(policy, compiled.template !== undefined, cert, now);
    if (webhook.failure) failures.push(webhook.failure);
    this.recordWebhookRepair(policy, webhook.outcome);
    const marks = await this.o.marks.sync(this.o.namespaces.list(), resolved, name);
    failures.push(...marks.failures);
    this.recordMarksRepair(policy, marks.restored);
    const facts: PolicyFacts = {
      revision: compiled.template?.revision,
      invalid: compiled.error,
      ...(configMap ? { configMapError: conditionMessage(configMap) } : {}),
      namespaces: {
        governed: governed.length,
        failed: marks.failures.map((f) => ({ namespace: f.object.name, error: conditionMessage(f) })),
      },
      conflicts: resolved.conflicts.get(name) ?? [],
      ...webhook.facts,
    };
    const pods = await this.podFacts(policy, compiled.template?.revision, governed, failures);
    const inputs = [...policyConditions(facts), ...pods.conditions];
    const ready = summarizeReady(inputs);
    const status: SidecarPolicyStatus = {
      observedGeneration: policy.metadata?.generation,
      revision: compiled.template?.revision ?? policy.status?.revision,
      namespaces: governed.length,
      governedNamespaces: governed.slice(0, 100),
      ...countsStatus(pods.counts),
      ...pods.rollout?.status,
      conditions: setConditions(
        policy.status?.conditions ?? [],
        [ready, ...inputs],
        policy.metadata?.generation,
        now,
      ),
    };
    const statusFailure = await this.status.write(policy, status, [ready, ...inputs], log);
    if (statusFailure) failures.push(statusFailure);
    if (failures.length > 0) throw new ReconcileError(failures);
    if (compiled.error) throw new TerminalError(compiled.error);
    return pods.result;
  }

  /** Pod counts from the pod cache, and the rollout step (strategy Restart) once the policy compiles. */
  private async podFacts(
    policy: SidecarPolicy,
    revision: string | undefined,
    governed: readonly string[],
    failures: StepFailure[],
  ): Promise<{
    /** Undefined: pods are not counted in this installation. */
    counts?: PodCounts;
    rollout?: RolloutOutcome;
    conditions: ConditionInput[];
    result: ReconcileResult;
  }> {
    if (revision === undefined)
      return { counts: { injected: 0, outdated: 0, uninjected: 0 }, conditions: [], result: {} };
    if (this.o.countPods === false) return { conditions: [PODS_NOT_COUNTED], result: {} };
    const counts = countPods(this.o.pods.inNamespaces(governed), revision, policy.spec.selector.podSelector);
    const rollout = await this.o.rollout.reconcile(policy, revision, governed, counts.outdated);
    failures.push(...rollout.failures);
    const result = rollout.requeueAfterMs !== undefined ? { requeueAfterMs: rollout.requeueAfterMs } : {};
    return { counts, rollout, conditions: [rollout.condition], result };
  }

  private recordWebhookRepair(policy: SidecarPolicy, outcome: SyncOutcome): void {
    if (outcome !== 'recreated' && outcome !== 'restored') return;
    const was = outcome === 'recreated' ? 'deleted' : 'changed';
    const message = `${outcome} MutatingWebhookConfiguration ${policy.metadata?.name ?? ''}, which had been ${was}`;
    this.recordOn(policy, 'Warning', EventReason.WebhookRepaired, message);
  }

  private recordMarksRepair(policy: SidecarPolicy, restored: readonly string[]): void {
    for (const ns of restored)
      this.recordOn(policy, 'Warning', EventReason.MarksRepaired, `restored the marks of namespace ${ns}`);
  }

  private recordOn(policy: SidecarPolicy, type: EventType, reason: EventReason, message: string): void {
    this.o.events.record(
      { name: policy.metadata?.name ?? '', uid: policy.metadata?.uid ?? '' },
      type,
      reason,
      message,
    );
  }

  /** Deletion: undo everything, then let the policy go. */
  private async finalize(policy: SidecarPolicy, log: Logger): Promise<ReconcileResult> {
    if (!hasFinalizer(policy)) return {};
    const name = policy.metadata?.name ?? '';
    this.forget(name);
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

  private forget(name: string): void {
    this.status.forget(name);
    this.o.templates.forget(name);
  }

  /**
   * The policy is not in the cache. Confirm with the API server (a cache may lag behind a create),
   * then remove whatever it left behind (its finalizer was removed by hand, or we were not running).
   */
  private async cleanupIfGone(name: string, log: Logger): Promise<ReconcileResult> {
    this.forget(name);
    if (this.o.sharded) return {};
    try {
      await requestJson(this.o.kc, { path: policyPath(name) });
      return { requeueAfterMs: 1000 };
    } catch (err) {
      if (!isNotFound(err)) throw new ReconcileError([stepFailure('cleanup', policyRef(name), err)]);
    }
    const leftovers =
      this.o.webhooks.has(name) ||
      this.o.configMap.hasEntry(name) ||
      this.o.namespaces.list().some((ns) => ns.metadata?.labels?.[POLICY_LABEL] === name);
    if (!leftovers) return {};
    await this.cleanup(name);
    log.info('leftovers of a deleted policy removed');
    return {};
  }

  /** Undoes what the policy implies; every step is tried, the failures are raised together. */
  private async cleanup(name: string): Promise<void> {
    const policies = this.livePolicies().filter((p) => p.metadata?.name !== name);
    const failures: StepFailure[] = [];
    await step(failures, 'cleanup', webhookRef(name), () => this.o.webhooks.delete(name));
    await step(failures, 'cleanup', configMapRef(this.o.operatorNamespace), () =>
      this.o.configMap.sync(policies),
    );
    const marks = await this.o.marks.sync(this.o.namespaces.list(), this.resolve(policies), name);
    failures.push(...marks.failures);
    if (failures.length > 0) throw new ReconcileError(failures);
  }
}
