import type { V1DaemonSet, V1Deployment, V1StatefulSet } from '@kubernetes/client-node';

/** A workload (Deployment, StatefulSet, DaemonSet) as the rollout sees it. */
export interface WorkloadState {
  /** Kind/namespace/name. */
  key: string;
  /** The revision its pod template was last restarted for by a rollout (template annotation). */
  restartedFor?: string;
  /** Its controller has rolled out the current template: see docs/controller.md, Rollout. */
  complete: boolean;
  /** It still has pods injected with another revision. */
  stale: boolean;
}

export interface RolloutPlan {
  /** Restart these now (sorted). */
  restart: string[];
  /** Restarted for this revision and not complete: they hold the slots. */
  rolling: string[];
  /** Stale, not restarted yet, no slot free. */
  waiting: string[];
  /** How many may roll at once. */
  limit: number;
}

/**
 * maxUnavailable as a count: an integer as is, a percentage of the workloads concerned by this
 * revision's rollout rounded up (as Kubernetes rounds maxUnavailable for a percentage of
 * workloads, never to 0), at least 1.
 */
export function resolveMaxUnavailable(value: number | string | undefined, total: number): number {
  if (value === undefined) return 1;
  if (typeof value === 'number') return Math.max(1, Math.floor(value));
  const m = /^(\d+)%$/.exec(value);
  if (!m) return Math.max(1, parseInt(value, 10) || 1);
  return Math.max(1, Math.ceil((Number(m[1]) * total) / 100));
}

/**
 * Which stale workloads to restart now: never more than maxUnavailable restarted for `revision` and
 * not complete; a workload restarted for `revision` is never restarted again for it; nothing before
 * the webhook serves `revision` (`ready`). Order is by key, so waves are deterministic.
 */
export function planRollout(
  workloads: readonly WorkloadState[],
  revision: string,
  maxUnavailable: number | string | undefined,
  /** False while the webhook may not serve `revision` yet: nothing is restarted. */
  ready = true,
): RolloutPlan {
  const byKey = [...workloads].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const rolling = byKey.filter((w) => w.restartedFor === revision && !w.complete).map((w) => w.key);
  const candidates = byKey.filter((w) => w.stale && w.restartedFor !== revision).map((w) => w.key);
  const concerned = byKey.filter((w) => w.restartedFor === revision || w.stale).length;
  const limit = resolveMaxUnavailable(maxUnavailable, concerned);
  const slots = ready ? Math.max(0, limit - rolling.length) : 0;
  return {
    restart: candidates.slice(0, slots),
    rolling,
    waiting: candidates.slice(slots),
    limit,
  };
}

export type Workload = V1Deployment | V1StatefulSet | V1DaemonSet;

/**
 * Rolled out as `kubectl rollout status` would say, except that availability is not required: the
 * controller has observed the restart, every replica is of the new template, and no pod of the
 * workload still runs an older revision (in a cluster, a RollingUpdate removes old pods only as new
 * ones become available, so this follows availability there).
 */
export function rolledOut(kind: string, w: Workload, stale: boolean): boolean {
  if (stale) return false;
  if ((w.status?.observedGeneration ?? 0) < (w.metadata?.generation ?? 0)) return false;
  if (kind === 'DaemonSet') {
    const s = (w as V1DaemonSet).status;
    return (s?.updatedNumberScheduled ?? 0) >= (s?.desiredNumberScheduled ?? 0);
  }
  const replicas = (w.spec as { replicas?: number } | undefined)?.replicas ?? 1;
  return ((w.status as { updatedReplicas?: number } | undefined)?.updatedReplicas ?? 0) >= replicas;
}
