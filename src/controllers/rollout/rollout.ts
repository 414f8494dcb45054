import type { KubeConfig, V1ReplicaSet } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import {
  FIELD_MANAGER,
  Reason,
  RESTARTED_AT_ANNOTATION,
  RESTARTED_FOR_ANNOTATION,
  type SidecarPolicy,
  type SidecarPolicyStatus,
} from '../../api/index.js';
import {
  isNotFound,
  refOfKey,
  requestJson,
  stepFailure,
  type EventRecorder,
  type StepFailure,
} from '../../kube/index.js';
import { planRollout, rolledOut, type Workload, type WorkloadState } from '../../render/rollout-plan.js';
import { isOutdated, rolloutCondition, type ConditionInput, type PodMeta } from '../../status/index.js';
import type { PodIndex } from '../pod-index.js';

const RESOURCE: Record<string, string> = {
  Deployment: 'deployments',
  StatefulSet: 'statefulsets',
  DaemonSet: 'daemonsets',
};

export type RolloutStatus = Pick<
  SidecarPolicyStatus,
  'rolloutRevision' | 'restartingWorkloads' | 'pendingWorkloads' | 'notRestartedOwners'
>;

export interface RolloutOutcome {
  status: RolloutStatus;
  condition: ConditionInput;
  /** Set while workloads roll or wait: their progress is polled (workloads are not watched). */
  requeueAfterMs?: number;
  failures: StepFailure[];
}

export interface RolloutOptions {
  kc: KubeConfig;
  pods: PodIndex;
  events: EventRecorder;
  log: Logger;
  clock: () => Date;
  /** How often a rollout in progress looks at its workloads again (default 2 s). */
  pollMs?: number;
  /**
   * The revision of the policy's injector template ConfigMap as watched: restarts wait until it
   * is the new one, so that the webhook (which watches the same ConfigMaps) injects the new revision
   * into the replacement pods.
   */
  servedRevision: (policy: string) => string | undefined;
  /**
   * Whether this installation lets the operator restart workloads (`--rollout-restart`, chart value
   * `rollout.enabled`, which grants patch on Deployments, StatefulSets and DaemonSets). Default true.
   */
  restartAllowed?: boolean;
}

/** Where the permission to restart workloads is given: the sentence a policy's status and Event carry. */
export const RESTART_NOT_PERMITTED =
  'rollout strategy Restart is not permitted in this installation: the operator may not restart workloads ' +
  'unless it is installed with the chart value rollout.enabled=true (flag --rollout-restart), which grants ' +
  'it patch on Deployments, StatefulSets and DaemonSets; restart them yourself (kubectl rollout restart)';

const workloadPath = (key: string): string => {
  const [kind = '', ns = '', name = ''] = key.split('/');
  return `/apis/apps/v1/namespaces/${ns}/${RESOURCE[kind]}/${name}`;
};

/**
 * spec.rollout.strategy Restart: restarts the owners of outdated pods in waves, the way
 * `kubectl rollout restart` does (a pod-template annotation), never more than maxUnavailable at
 * once. Planning is pure (src/render/rollout-plan.ts); this gathers the states and writes.
 */
export class Rollout {
  /** ReplicaSet uid → its Deployment's name (or null): owners do not change, one GET per ReplicaSet. */
  private readonly replicaSetOwners = new Map<string, string | null>();

  /** Bounded: ReplicaSets come and go for the leader's lifetime; the oldest entries go first. */
  private rememberOwner(uid: string, deployment: string | null): void {
    if (this.replicaSetOwners.size >= 10_000) {
      const oldest = this.replicaSetOwners.keys().next().value;
      if (oldest !== undefined) this.replicaSetOwners.delete(oldest);
    }
    this.replicaSetOwners.set(uid, deployment);
  }

  private readonly kc: KubeConfig;
  private readonly pods: PodIndex;
  private readonly events: EventRecorder;
  private readonly log: Logger;
  private readonly clock: () => Date;
  private readonly pollMs: number;
  private readonly servedRevision: (policy: string) => string | undefined;
  private readonly restartAllowed: boolean;
  /** `<policy uid>/<revision>` already told it cannot roll out: one Warning per revision and leader. */
  private readonly refused = new Set<string>();

  constructor(o: RolloutOptions) {
    this.kc = o.kc;
    this.pods = o.pods;
    this.events = o.events;
    this.log = o.log;
    this.clock = o.clock;
    this.pollMs = o.pollMs ?? 2000;
    this.servedRevision = o.servedRevision;
    this.restartAllowed = o.restartAllowed ?? true;
  }

  async reconcile(
    policy: SidecarPolicy,
    revision: string,
    governed: readonly string[],
    outdatedPods: number,
  ): Promise<RolloutOutcome> {
    const strategy = policy.spec.rollout?.strategy ?? 'Manual';
    if (strategy !== 'Restart') {
      return {
        status: {},
        condition: rolloutCondition({ revision, strategy, outdatedPods }),
        failures: [],
      };
    }
    if (!this.restartAllowed) return this.notPermitted(policy, revision, outdatedPods);
    const failures: StepFailure[] = [];
    const { stale, notRestartable } = await this.staleOwners(governed, revision, failures);
    const previous =
      policy.status?.rolloutRevision === revision ? (policy.status.restartingWorkloads ?? []) : [];
    const states = await this.states(new Set([...stale, ...previous]), stale, failures);
    const ref = { name: policy.metadata?.name ?? '', uid: policy.metadata?.uid ?? '' };
    const served = this.servedRevision(ref.name) === revision;
    const plan = planRollout(states, revision, policy.spec.rollout?.maxUnavailable, served);
    if (plan.restart.length > 0 && !states.some((s) => s.restartedFor === revision))
      this.events.record(ref, 'Normal', 'RolloutStarted', `restarting workloads for revision ${revision}`);
    const restarted = await this.restartAll(plan.restart, revision, ref, failures);
    const rolling = [...plan.rolling, ...restarted].sort();
    if (previous.length > 0 && rolling.length === 0 && plan.waiting.length === 0)
      this.events.record(ref, 'Normal', 'RolloutComplete', `workloads restarted for revision ${revision}`);
    const owners = [...notRestartable].sort();
    const inProgress = rolling.length > 0 || plan.waiting.length > 0;
    return {
      status: {
        rolloutRevision: revision,
        restartingWorkloads: rolling.slice(0, 100),
        pendingWorkloads: plan.waiting.length,
        notRestartedOwners: owners.slice(0, 20),
      },
      condition: rolloutCondition({
        revision,
        strategy,
        outdatedPods,
        rolling,
        waiting: plan.waiting,
        limit: plan.limit,
        notRestartable: owners,
      }),
      ...(inProgress ? { requeueAfterMs: this.pollMs } : {}),
      failures,
    };
  }

  /**
   * Restart asked for, not permitted: nothing is read or written; the Rollout condition (and a
   * Warning Event, once per revision) says why and what to do.
   */
  private notPermitted(policy: SidecarPolicy, revision: string, outdatedPods: number): RolloutOutcome {
    const strategy = 'Restart';
    if (outdatedPods === 0)
      return { status: {}, condition: rolloutCondition({ revision, strategy, outdatedPods }), failures: [] };
    const ref = { name: policy.metadata?.name ?? '', uid: policy.metadata?.uid ?? '' };
    const key = `${ref.uid}/${revision}`;
    if (!this.refused.has(key)) {
      if (this.refused.size >= 10_000) this.refused.clear();
      this.refused.add(key);
      this.events.record(ref, 'Warning', Reason.RolloutNotPermitted, RESTART_NOT_PERMITTED);
    }
    const pods = `${outdatedPods} pod${outdatedPods === 1 ? '' : 's'} run${outdatedPods === 1 ? 's' : ''} an older revision`;
    return {
      status: {},
      condition: {
        type: rolloutCondition({ revision, strategy, outdatedPods }).type,
        status: 'False',
        reason: Reason.RolloutNotPermitted,
        message: `${pods}; ${RESTART_NOT_PERMITTED}`,
      },
      failures: [],
    };
  }

  private async states(
    keys: Set<string>,
    stale: Set<string>,
    failures: StepFailure[],
  ): Promise<WorkloadState[]> {
    const states: WorkloadState[] = [];
    for (const key of keys) {
      const w = await this.read(key, failures);
      if (!w) continue;
      states.push({
        key,
        restartedFor: w.spec?.template.metadata?.annotations?.[RESTARTED_FOR_ANNOTATION],
        complete: rolledOut(key.split('/')[0] ?? '', w, stale.has(key)),
        stale: stale.has(key),
      });
    }
    return states;
  }

  private async restartAll(
    keys: string[],
    revision: string,
    ref: { name: string; uid: string },
    failures: StepFailure[],
  ): Promise<string[]> {
    const restarted: string[] = [];
    for (const key of keys) {
      try {
        await this.restart(key, revision);
        restarted.push(key);
        this.events.record(ref, 'Normal', 'WorkloadRestarted', `restarted ${key} for revision ${revision}`);
      } catch (err) {
        failures.push(stepFailure('rollout', refOfKey(key), err));
      }
    }
    return restarted;
  }

  /** Owners of the outdated pods: workloads a rollout restarts, and the rest (reported only). */
  private async staleOwners(
    governed: readonly string[],
    revision: string,
    failures: StepFailure[],
  ): Promise<{ stale: Set<string>; notRestartable: Set<string> }> {
    const stale = new Set<string>();
    const notRestartable = new Set<string>();
    for (const pod of this.pods.inNamespaces(governed)) {
      if (pod.metadata?.deletionTimestamp !== undefined || !isOutdated(pod, revision)) continue;
      const owner = await this.ownerOf(pod, failures);
      if (owner.restartable) stale.add(owner.key);
      else notRestartable.add(owner.key);
    }
    return { stale, notRestartable };
  }

  private async ownerOf(
    pod: PodMeta,
    failures: StepFailure[],
  ): Promise<{ key: string; restartable: boolean }> {
    const ns = pod.metadata?.namespace ?? '';
    const ref = pod.metadata?.ownerReferences?.find((r) => r.controller);
    if (!ref) return { key: `Pod/${ns}/${pod.metadata?.name ?? ''}`, restartable: false };
    if (ref.kind === 'StatefulSet' || ref.kind === 'DaemonSet')
      return { key: `${ref.kind}/${ns}/${ref.name}`, restartable: true };
    if (ref.kind === 'ReplicaSet') {
      let deployment = this.replicaSetOwners.get(ref.uid);
      if (deployment === undefined) {
        try {
          const rs = await requestJson<V1ReplicaSet>(this.kc, {
            path: `/apis/apps/v1/namespaces/${ns}/replicasets/${ref.name}`,
          });
          deployment =
            rs.metadata?.ownerReferences?.find((r) => r.controller && r.kind === 'Deployment')?.name ?? null;
          this.rememberOwner(ref.uid, deployment);
        } catch (err) {
          if (!isNotFound(err))
            failures.push(stepFailure('rollout', { kind: 'ReplicaSet', namespace: ns, name: ref.name }, err));
          deployment = null;
        }
      }
      if (deployment) return { key: `Deployment/${ns}/${deployment}`, restartable: true };
    }
    return { key: `${ref.kind}/${ns}/${ref.name}`, restartable: false };
  }

  private async read(key: string, failures: StepFailure[]): Promise<Workload | undefined> {
    try {
      return await requestJson<Workload>(this.kc, { path: workloadPath(key) });
    } catch (err) {
      if (!isNotFound(err)) failures.push(stepFailure('rollout', refOfKey(key), err));
      return undefined;
    }
  }

  /** What `kubectl rollout restart` does: a new pod-template annotation makes a new template. */
  private async restart(key: string, revision: string): Promise<void> {
    await requestJson(this.kc, {
      method: 'PATCH',
      path: workloadPath(key),
      query: { fieldManager: FIELD_MANAGER },
      body: {
        spec: {
          template: {
            metadata: {
              annotations: {
                [RESTARTED_AT_ANNOTATION]: this.clock().toISOString(),
                [RESTARTED_FOR_ANNOTATION]: revision,
              },
            },
          },
        },
      },
      contentType: 'application/merge-patch+json',
    });
    this.log.info({ workload: key, revision }, 'workload restarted');
  }
}
