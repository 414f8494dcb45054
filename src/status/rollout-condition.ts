import { Reason } from '../api/index.js';
import type { ConditionInput } from './conditions.js';

/** Condition on every policy: do all injected pods run the current revision? */
export const ROLLOUT_CONDITION = 'RolloutComplete';

export interface RolloutFacts {
  revision: string | undefined;
  strategy: 'Manual' | 'Restart';
  outdatedPods: number;
  /** Restart only: workloads rolling, restarted now, waiting; owners a rollout does not restart. */
  rolling?: string[];
  waiting?: string[];
  limit?: number;
  notRestartable?: string[];
}

const list = (keys: string[], max = 3): string =>
  keys.slice(0, max).join(', ') + (keys.length > max ? ` and ${keys.length - max} more` : '');

export function rolloutCondition(f: RolloutFacts): ConditionInput {
  const T = ROLLOUT_CONDITION;
  const rev = f.revision ?? '';
  if (f.outdatedPods === 0)
    return {
      type: T,
      status: 'True',
      reason: Reason.UpToDate,
      message: `every injected pod runs revision ${rev}`,
    };
  const pods = `${f.outdatedPods} pod${f.outdatedPods === 1 ? '' : 's'} run${f.outdatedPods === 1 ? 's' : ''} an older revision`;
  if (f.strategy === 'Manual') {
    return {
      type: T,
      status: 'False',
      reason: Reason.ManualRollout,
      message: `${pods}; rollout strategy Manual leaves restarting their workloads to you`,
    };
  }
  const rolling = f.rolling ?? [];
  const waiting = f.waiting ?? [];
  const skipped = f.notRestartable ?? [];
  const skippedText = skipped.length > 0 ? `; not restarted: ${list(skipped)}` : '';
  if (rolling.length > 0 || waiting.length > 0) {
    const wait = waiting.length > 0 ? `; ${waiting.length} waiting (maxUnavailable ${f.limit ?? 1})` : '';
    return {
      type: T,
      status: 'False',
      reason: Reason.RolloutInProgress,
      message: `${pods}; restarting ${list(rolling)}${wait}${skippedText}`,
    };
  }
  if (skipped.length === 0)
    return { type: T, status: 'False', reason: Reason.RolloutInProgress, message: pods };
  return {
    type: T,
    status: 'False',
    reason: Reason.NotRestartable,
    message: `${pods}, owned by what a rollout does not restart: ${list(skipped)}`,
  };
}
