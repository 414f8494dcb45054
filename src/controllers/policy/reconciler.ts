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
import { injectorTemplateName } from '../../render/injector-configmap.js';
import {
  countPods,
  EventReason,
  podsAdmissibleCondition,
  policyConditions,
  ROLLOUT_CONDITION,
  setConditions,
  summarizeReady,
  type AdmissionFacts,
  type ConditionInput,
  type PodCounts,
  type PolicyFacts,
} from '../../status/index.js';
import type { CompiledTemplate } from '../../inject/index.js';
import type { AdmissionChecker } from '../admission-check/checker.js';
import { removeFinalizer } from '../cleanup.js';
import { conditionMessage, step } from '../steps.js';
import type { InjectorTemplates } from '../injector-configmap/injector-configmap.js';
import type { PodIndex } from '../pod-index.js';
import type { Rollout, RolloutOutcome } from '../rollout/rollout.js';
import type { TemplateCache } from '../template-cache.js';
import type { CertificateView, SyncOutcome, WebhookConfigurations } from '../webhooks/webhooks.js';
import { addFinalizer, cleanupVerdict, DEFAULT_CLEANUP_TIMEOUT_MS, hasFinalizer } from './finalizer.js';
import type { NamespaceMarks } from './marks.js';
import { applyPolicyStatus, PolicyStatusWriter } from './status-writer.js';

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
  configMap: InjectorTemplates;
  webhooks: WebhookConfigurations;
  marks: NamespaceMarks;
  rollout: Rollout;
  /** Dry-runs a representative injected pod per governed namespace; undefined when turned off. */
  admission?: AdmissionChecker;
  certificate: () => CertificateView | undefined;
  events: EventRecorder;
  /** Only some policies are ours (a label selector): leave what others' policies left alone. */
  sharded?: boolean;
  /** How long a deleting policy's failing cleanup is retried before its finalizer goes anyway. */
  cleanupTimeoutMs?: number;
  clock: () => Date;
}

/** The Ready reason of a deleting policy whose cleanup fails. */
const CLEANUP_FAILED = 'CleanupFailed';

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
const configMapRef = (namespace: string, policy: string): ObjectRef => ({
  kind: 'ConfigMap',
  namespace,
  name: injectorTemplateName(policy),
});

/**
 * The SidecarPolicy reconciler, level-based: whatever event brought the key, it re-reads the caches
 * and has every concern converge on what the policy (and, for shared objects, every policy) implies:
 * its injector template ConfigMap, the webhook configuration, the namespace marks, the rollout. Each step is
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

  /** Removes an older release's shared injector ConfigMap once it is no longer needed (see InjectorTemplates). */
  async retireLegacyConfigMap(): Promise<boolean> {
    return this.o.configMap.retireLegacy(this.livePolicies());
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
    const configMap = await step(failures, 'configmap', configMapRef(this.o.operatorNamespace, name), () =>
      this.o.configMap.sync(policy),
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
      invalidReason: compiled.reason,
      ...(configMap ? { configMapError: conditionMessage(configMap) } : {}),
      namespaces: {
        governed: governed.length,
        failed: marks.failures.map((f) => ({ namespace: f.object.name, error: conditionMessage(f) })),
      },
      conflicts: resolved.conflicts.get(name) ?? [],
      ...webhook.facts,
    };
    const pods = await this.podFacts(policy, compiled.template?.revision, governed, failures);
    const admission = podsAdmissibleCondition(
      this.admissionFacts(policy, compiled.template, governed, facts.webhook.state === 'Applied'),
    );
    const inputs = [...policyConditions(facts), admission, ...pods.conditions];
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

  /** What the admission check knows of each governed namespace (it checks the rest meanwhile). */
  private admissionFacts(
    policy: SidecarPolicy,
    template: CompiledTemplate | undefined,
    governed: readonly string[],
    webhookApplied: boolean,
  ): AdmissionFacts {
    const checker = this.o.admission;
    if (!checker) return { enabled: false, namespaces: [] };
    // Checked once the webhook is in place, so that the API server's answer includes calling it.
    if (!template || !webhookApplied)
      return { enabled: true, namespaces: governed.map((namespace) => ({ namespace })) };
    const namespaces = governed.flatMap((n) => this.o.namespaces.get(n) ?? []);
    const ref = { name: policy.metadata?.name ?? '', uid: policy.metadata?.uid ?? '' };
    const observed = checker.observe(ref, template, namespaces, this.o.webhooks.trust(ref.name));
    checker.kick();
    return { enabled: true, namespaces: observed };
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

  /**
   * Deletion: undo everything, then let the policy go. What cannot be undone (a write RBAC forbids,
   * an API server refusing) is retried with backoff and reported (a Warning Event, Ready=False with
   * reason CleanupFailed) until the cleanup timeout since the deletion; then the finalizer goes
   * anyway, with an Event naming what was left behind. A deletion never sticks for good.
   */
  private async finalize(policy: SidecarPolicy, log: Logger): Promise<ReconcileResult> {
    if (!hasFinalizer(policy)) return {};
    const name = policy.metadata?.name ?? '';
    this.forget(name);
    const failures = await this.cleanup(name);
    if (failures.length > 0) {
      const now = this.o.clock();
      const verdict = cleanupVerdict({
        deletionTimestamp: policy.metadata?.deletionTimestamp as Date | string | undefined,
        now,
        timeoutMs: this.o.cleanupTimeoutMs ?? DEFAULT_CLEANUP_TIMEOUT_MS,
      });
      const what = failures.map(conditionMessage).join('; ');
      if (!verdict.giveUp) {
        const message = `cleanup failed, retrying; the finalizer goes anyway in ${Math.ceil(verdict.leftMs / 1000)} s: ${what}`;
        this.recordOn(policy, 'Warning', EventReason.CleanupFailed, `cleanup failed, retrying: ${what}`);
        await this.reportCleanupFailure(policy, message, now, log);
        throw new ReconcileError(failures);
      }
      log.error({ failures: what }, 'cleanup timed out: finalizer removed, leftovers remain');
      this.recordOn(
        policy,
        'Warning',
        EventReason.CleanupAbandoned,
        `finalizer removed after the cleanup timeout; left behind: ${what}`,
      );
    }
    let removed: boolean;
    try {
      removed = await removeFinalizer(this.o.kc, name, { seen: policy });
    } catch (err) {
      throw new ReconcileError([stepFailure('finalizer', policyRef(name), err)]);
    }
    // Not removed: a reconcile before this one did, and the cache had not caught up.
    if (removed && failures.length === 0) log.info('policy cleaned up');
    return {};
  }

  /** Ready=False, reason CleanupFailed, on the deleting policy (best effort: the Event is the record). */
  private async reportCleanupFailure(
    policy: SidecarPolicy,
    message: string,
    now: Date,
    log: Logger,
  ): Promise<void> {
    const ready = policy.status?.conditions?.find((c) => c.type === 'Ready');
    if (ready?.reason === CLEANUP_FAILED && ready.status === 'False') return;
    const conditions = setConditions(
      policy.status?.conditions ?? [],
      [{ type: 'Ready', status: 'False', reason: CLEANUP_FAILED, message }],
      policy.metadata?.generation,
      now,
    );
    try {
      await applyPolicyStatus(this.o.kc, policy.metadata?.name ?? '', { ...policy.status, conditions });
    } catch (err) {
      log.debug({ err }, 'cleanup failure not written to the status');
    }
  }

  private forget(name: string): void {
    this.status.forget(name);
    this.o.templates.forget(name);
    this.o.admission?.forget(name);
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
      this.o.configMap.has(name) ||
      this.o.namespaces.list().some((ns) => ns.metadata?.labels?.[POLICY_LABEL] === name);
    if (!leftovers) return {};
    const failures = await this.cleanup(name);
    if (failures.length > 0) throw new ReconcileError(failures);
    log.info('leftovers of a deleted policy removed');
    return {};
  }

  /**
   * Undoes what the policy implies; every step is tried, the failures are returned together. A
   * namespace being deleted keeps no mark worth removing: a failure to unmark it is not one.
   */
  private async cleanup(name: string): Promise<StepFailure[]> {
    const policies = this.livePolicies().filter((p) => p.metadata?.name !== name);
    const failures: StepFailure[] = [];
    await step(failures, 'cleanup', webhookRef(name), () => this.o.webhooks.delete(name));
    await step(failures, 'cleanup', configMapRef(this.o.operatorNamespace, name), () =>
      this.o.configMap.delete(name),
    );
    const namespaces = this.o.namespaces.list();
    const marks = await this.o.marks.sync(namespaces, this.resolve(policies), name);
    const terminating = new Set(
      namespaces.filter((ns) => ns.metadata?.deletionTimestamp).map((ns) => ns.metadata?.name),
    );
    failures.push(...marks.failures.filter((f) => !terminating.has(f.object.name)));
    return failures;
  }
}
