import { describe, expect, it } from 'vitest';
import { apiFailure } from '../../kube/index.js';
import { compileTemplate, decideInjection, findProxy } from '../../inject/index.js';
import { applicationPod, CHECK_POD_NAME, representativePod } from './representative-pod.js';
import { refusingPodSecurity, verdictOf } from './verdict.js';

const failure = (code: number, reason: string, message: string) =>
  apiFailure({ code, body: { kind: 'Status', code, reason, message } });

const baseline = { 'pod-security.kubernetes.io/enforce': 'baseline' };

describe('verdictOf', () => {
  it('admits when the dry run succeeded', () => {
    expect(verdictOf(undefined, baseline)).toEqual({ state: 'admitted' });
  });

  it('refuses with the server words, marking a Pod Security level that refuses NET_ADMIN', () => {
    const psa = failure(
      403,
      'Forbidden',
      `pods "${CHECK_POD_NAME}" is forbidden: violates PodSecurity "baseline:latest": non-default capabilities`,
    );
    expect(verdictOf(psa, baseline)).toEqual({
      state: 'refused',
      message: psa.message,
      podSecurity: 'baseline',
    });
    // The same refusal in a namespace without such a label: no Pod Security hint.
    expect(verdictOf(psa, {})).toEqual({ state: 'refused', message: psa.message });
    const quota = failure(
      403,
      'Forbidden',
      'exceeded quota: q, requested: limits.cpu=3, used: limits.cpu=0, limited: limits.cpu=1',
    );
    expect(verdictOf(quota, baseline)).toEqual({ state: 'refused', message: quota.message });
    const invalid = failure(422, 'Invalid', 'Pod "x" is invalid: spec.containers[0].image: Required value');
    expect(verdictOf(invalid, undefined).state).toBe('refused');
    const webhook = failure(
      500,
      'InternalError',
      'Internal error occurred: failed calling webhook "x.example": connection refused',
    );
    expect(verdictOf(webhook, undefined).state).toBe('refused');
    expect(verdictOf(webhook, undefined, 'mesh').state).toBe('refused');
  });

  it('gives no verdict when the policy’s own webhook did not answer (no replica serving yet)', () => {
    const own = failure(
      500,
      'InternalError',
      'Internal error occurred: failed calling webhook "mesh.sidecar.dev": failed to call webhook: Post "https://sidecar-operator.sidecar-system.svc:443/inject/mesh?timeout=10s": dial tcp 10.0.0.1:443: connect: connection refused',
    );
    expect(verdictOf(own, undefined, 'mesh')).toMatchObject({
      state: 'unknown',
      message: expect.stringContaining("the operator's own webhook did not answer"),
    });
    // Another policy's webhook failing is the namespace's problem: pods there are refused.
    expect(verdictOf(own, undefined, 'other').state).toBe('refused');
  });

  it('gives no verdict for answers that say nothing about the pod', () => {
    const cases = [
      failure(
        403,
        'Forbidden',
        'pods is forbidden: User "system:serviceaccount:s:op" cannot create resource "pods" in API group "" in the namespace "a"',
      ),
      failure(
        403,
        'Forbidden',
        'pods "x" is forbidden: error looking up service account a/default: serviceaccount "default" not found',
      ),
      failure(
        403,
        'Forbidden',
        'pods "x" is forbidden: unable to create new content in namespace a because it is being terminated',
      ),
      failure(400, 'BadRequest', 'admission webhook "x.example" does not support dry run'),
      failure(500, 'InternalError', 'etcdserver: request timed out'),
      failure(429, 'TooManyRequests', 'slow down'),
      failure(409, 'AlreadyExists', `pods "${CHECK_POD_NAME}" already exists`),
      apiFailure(new Error('connect ECONNREFUSED')),
    ];
    for (const f of cases) expect(verdictOf(f, baseline).state, f.message).toBe('unknown');
    expect(verdictOf(cases[1], undefined)).toMatchObject({
      message: expect.stringContaining('no such ServiceAccount'),
    });
  });

  it('reads Pod Security levels that refuse', () => {
    expect(refusingPodSecurity(baseline)).toBe('baseline');
    expect(refusingPodSecurity({ 'pod-security.kubernetes.io/enforce': 'restricted' })).toBe('restricted');
    expect(refusingPodSecurity({ 'pod-security.kubernetes.io/enforce': 'privileged' })).toBeUndefined();
    expect(refusingPodSecurity({ 'pod-security.kubernetes.io/warn': 'baseline' })).toBeUndefined();
  });
});

describe('representativePod', () => {
  const template = compileTemplate(
    { metadata: { name: 'p' }, spec: { selector: { namespaces: ['a'] }, proxy: { image: 'envoy:1' } } },
    { nativeSidecars: true, initImage: 'init:1' },
  );

  it('is the application pod injected by the webhook code, which then sees it as already injected', () => {
    const pod = representativePod(template, 'a', 'sidecar-system')!;
    expect(findProxy(pod.spec)).toBeDefined();
    expect(pod.metadata?.name).toBe(CHECK_POD_NAME);
    expect(pod.spec?.automountServiceAccountToken).toBe(false);
    expect(pod.spec?.containers.map((c) => c.name)).toContain('app');
    const again = decideInjection(pod, template, { namespace: 'a', operatorNamespace: 'sidecar-system' });
    expect(again).toMatchObject({ inject: false, reason: 'AlreadyInjected' });
  });

  it('is nothing where the template injects nothing', () => {
    expect(representativePod(template, 'sidecar-system', 'sidecar-system')).toBeUndefined();
    expect(applicationPod('a').spec?.containers).toHaveLength(1);
  });
});
