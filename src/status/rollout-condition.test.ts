import { describe, expect, it } from 'vitest';
import { rolloutCondition } from './rollout-condition.js';

describe('rolloutCondition', () => {
  it('True when no pod is outdated, whatever the strategy', () => {
    for (const strategy of ['Manual', 'Restart'] as const)
      expect(rolloutCondition({ revision: 'r2', strategy, outdatedPods: 0 })).toMatchObject({
        status: 'True',
        reason: 'UpToDate',
        message: 'every injected pod runs revision r2',
      });
  });

  it('Manual with stale pods leaves the restart to the user', () => {
    expect(rolloutCondition({ revision: 'r2', strategy: 'Manual', outdatedPods: 1 })).toMatchObject({
      status: 'False',
      reason: 'ManualRollout',
      message:
        '1 pod runs an older revision; rollout strategy Manual leaves restarting their workloads to you',
    });
  });

  it('Restart in progress names what rolls, how many wait, and what is not restarted', () => {
    const c = rolloutCondition({
      revision: 'r2',
      strategy: 'Restart',
      outdatedPods: 5,
      rolling: ['Deployment/ns/a'],
      waiting: ['Deployment/ns/b', 'Deployment/ns/c'],
      limit: 1,
      notRestartable: ['Pod/ns/bare'],
    });
    expect(c).toMatchObject({ status: 'False', reason: 'RolloutInProgress' });
    expect(c.message).toBe(
      '5 pods run an older revision; restarting Deployment/ns/a; 2 waiting (maxUnavailable 1); not restarted: Pod/ns/bare',
    );
  });

  it('Restart with only owners it does not restart left', () => {
    const c = rolloutCondition({
      revision: 'r2',
      strategy: 'Restart',
      outdatedPods: 2,
      rolling: [],
      waiting: [],
      notRestartable: ['Job/ns/j', 'Pod/ns/a', 'Pod/ns/b', 'Pod/ns/c'],
    });
    expect(c).toMatchObject({ status: 'False', reason: 'NotRestartable' });
    expect(c.message).toBe(
      '2 pods run an older revision, owned by what a rollout does not restart: Job/ns/j, Pod/ns/a, Pod/ns/b and 1 more',
    );
  });
});
