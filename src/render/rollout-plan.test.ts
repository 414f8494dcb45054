import { describe, expect, it } from 'vitest';
import { planRollout, resolveMaxUnavailable, type WorkloadState } from './rollout-plan.js';

const w = (key: string, s: Partial<WorkloadState> = {}): WorkloadState => ({
  key,
  complete: false,
  stale: true,
  ...s,
});

describe('resolveMaxUnavailable', () => {
  it('takes integers as they are and rounds percentages up, never below 1', () => {
    expect(resolveMaxUnavailable(undefined, 10)).toBe(1);
    expect(resolveMaxUnavailable(3, 10)).toBe(3);
    expect(resolveMaxUnavailable('25%', 10)).toBe(3);
    expect(resolveMaxUnavailable('100%', 7)).toBe(7);
    expect(resolveMaxUnavailable('1%', 3)).toBe(1);
    expect(resolveMaxUnavailable('50%', 0)).toBe(1);
  });
});

describe('planRollout', () => {
  it('first wave: maxUnavailable stale workloads, by key', () => {
    const plan = planRollout([w('Deployment/ns/c'), w('Deployment/ns/a'), w('StatefulSet/ns/b')], 'r2', 1);
    expect(plan).toEqual({
      restart: ['Deployment/ns/a'],
      rolling: [],
      waiting: ['Deployment/ns/c', 'StatefulSet/ns/b'],
      limit: 1,
    });
  });

  it('a workload still rolling holds its slot; a complete one frees it', () => {
    const rolling = w('Deployment/ns/a', { restartedFor: 'r2' });
    expect(planRollout([rolling, w('Deployment/ns/b'), w('Deployment/ns/c')], 'r2', 1)).toMatchObject({
      restart: [],
      rolling: ['Deployment/ns/a'],
      waiting: ['Deployment/ns/b', 'Deployment/ns/c'],
    });
    const done = w('Deployment/ns/a', { restartedFor: 'r2', complete: true, stale: false });
    expect(planRollout([done, w('Deployment/ns/b'), w('Deployment/ns/c')], 'r2', 1)).toMatchObject({
      restart: ['Deployment/ns/b'],
      rolling: [],
      waiting: ['Deployment/ns/c'],
    });
  });

  it('never restarts a workload twice for one revision, even if it still has stale pods', () => {
    const stuck = w('Deployment/ns/a', { restartedFor: 'r2', complete: false, stale: true });
    const plan = planRollout([stuck], 'r2', 5);
    expect(plan.restart).toEqual([]);
    expect(plan.rolling).toEqual(['Deployment/ns/a']);
  });

  it('a restart for an older revision does not count: the workload is restarted again', () => {
    const old = w('Deployment/ns/a', { restartedFor: 'r1', complete: true });
    expect(planRollout([old], 'r2', 1).restart).toEqual(['Deployment/ns/a']);
  });

  it('a percentage is of the workloads concerned by this revision', () => {
    const ws = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((k) => w(`Deployment/ns/${k}`));
    const plan = planRollout(ws, 'r2', '25%');
    expect(plan.limit).toBe(2);
    expect(plan.restart).toEqual(['Deployment/ns/a', 'Deployment/ns/b']);
    expect(plan.waiting).toHaveLength(6);
  });

  it('nothing stale, nothing rolling: nothing to do', () => {
    const plan = planRollout([w('Deployment/ns/a', { stale: false, complete: true })], 'r2', 1);
    expect(plan).toMatchObject({ restart: [], rolling: [], waiting: [] });
  });

  it('waits, restarting nothing, until the webhook serves the revision', () => {
    const plan = planRollout([w('Deployment/ns/a'), w('Deployment/ns/b')], 'r2', 1, false);
    expect(plan).toMatchObject({ restart: [], waiting: ['Deployment/ns/a', 'Deployment/ns/b'] });
  });
});
