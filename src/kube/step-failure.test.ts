import { describe, expect, it } from 'vitest';
import { KubeError } from './errors.js';
import {
  describeStepFailure,
  failuresOf,
  ReconcileError,
  refOfKey,
  retryAction,
  stepFailure,
  type StepFailure,
} from './step-failure.js';

const answer = (code: number, reason: string, message = `${reason} happened`) =>
  KubeError.fromResponse('PATCH /x', code, JSON.stringify({ kind: 'Status', code, reason, message }));

const ns = (name: string, code: number, reason: string): StepFailure =>
  stepFailure('namespace', { kind: 'Namespace', name }, answer(code, reason));

describe('step failures', () => {
  it('keep the step, the object and the API failure as data', () => {
    const f = stepFailure(
      'webhook',
      { kind: 'MutatingWebhookConfiguration', name: 'mesh' },
      answer(403, 'Forbidden', 'cannot patch'),
    );
    expect(f).toEqual({
      step: 'webhook',
      object: { kind: 'MutatingWebhookConfiguration', name: 'mesh' },
      failure: { code: 403, reason: 'Forbidden', message: 'cannot patch' },
    });
    expect(describeStepFailure(f)).toBe('MutatingWebhookConfiguration mesh: 403 Forbidden: cannot patch');
    expect(
      describeStepFailure(
        stepFailure('rollout', refOfKey('Deployment/shop/web'), answer(500, 'InternalError')),
      ),
    ).toBe('Deployment shop/web: 500 InternalError: InternalError happened');
  });

  it('a ReconcileError carries them all, in order', () => {
    const err = new ReconcileError([ns('a', 403, 'Forbidden'), ns('b', 409, 'Conflict')]);
    expect(err.failures.map((f) => f.object.name)).toEqual(['a', 'b']);
    expect(err.message).toBe(
      'Namespace a: 403 Forbidden: Forbidden happened; Namespace b: 409 Conflict: Conflict happened',
    );
    expect(failuresOf(err, 'mesh')).toBe(err.failures);
  });

  it('any other error is one failure of the reconcile, with its code if it has one', () => {
    expect(failuresOf(answer(409, 'Conflict'), 'mesh')).toEqual([
      {
        step: 'reconcile',
        object: { kind: 'SidecarPolicy', name: 'mesh' },
        failure: { code: 409, reason: 'Conflict', message: 'Conflict happened' },
      },
    ]);
    expect(failuresOf(new TypeError('x is undefined'), 'mesh')[0]?.failure).toEqual({
      code: 0,
      reason: '',
      message: 'x is undefined',
    });
  });
});

describe('retryAction', () => {
  it.each([
    ['only conflicts', [ns('a', 409, 'Conflict'), ns('b', 409, 'Conflict')], 'requeue'],
    ['a conflict and a refusal', [ns('a', 409, 'Conflict'), ns('b', 403, 'Forbidden')], 'backoff'],
    ['a lost create race (not a conflict)', [ns('a', 409, 'AlreadyExists')], 'backoff'],
    ['a server error', [ns('a', 500, 'InternalError')], 'backoff'],
    [
      'no answer at all',
      [stepFailure('configmap', { kind: 'ConfigMap', name: 'x' }, new TypeError('fetch failed'))],
      'backoff',
    ],
    ['nothing', [], 'backoff'],
  ] as const)('%s → %s', (_what, failures, action) => {
    expect(retryAction(failures)).toBe(action);
  });
});
