import type { V1ContainerStatus, V1MutatingWebhookConfiguration } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { compileTemplate, injectPod, type Pod } from '../inject/index.js';
import type { DoctorInputs, OperatorWorkload, PodInputs } from './inputs.js';
import { checkOperatorWorkload, checkSidecarRuntime, containerTrouble } from './runtime-checks.js';

const template = compileTemplate(
  { metadata: { name: 'mesh' }, spec: { selector: { namespaces: ['shop'] } } },
  { nativeSidecars: true, initImage: 'ghcr.io/sidecar-operator/sidecar-operator:v0.1.0' },
);
const app: Pod = {
  metadata: { name: 'web', namespace: 'shop' },
  spec: { containers: [{ name: 'web', image: 'nginx' }] },
};
const injected = injectPod(app, template, { namespace: 'shop', operatorNamespace: 'sidecar-system' }).pod;

const base = (): DoctorInputs => ({
  now: new Date('2026-06-01T00:00:00Z'),
  groupVersions: [],
  crdInstalled: true,
  operatorNamespaceCandidates: [],
  policies: [],
  scope: [],
  webhookConfigurations: [],
  probes: new Map(),
  operatorNamespace: 'sidecar-system',
});

const status = (name: string, s: Partial<V1ContainerStatus>): V1ContainerStatus => ({
  name,
  image: `${name}:1`,
  imageID: '',
  ready: false,
  restartCount: 0,
  ...s,
});

const initDone = status('sidecar-init', { state: { terminated: { exitCode: 0, reason: 'Completed' } } });

function podInputs(statuses: V1ContainerStatus[], logs?: Record<string, string>): DoctorInputs {
  const pod: PodInputs = {
    name: 'web',
    found: true,
    pod: injected,
    status: { phase: 'Pending', initContainerStatuses: statuses },
    logs,
  };
  return { ...base(), pod };
}

describe('containerTrouble', () => {
  it('is silent for a running container and for one still being created', () => {
    expect(containerTrouble(status('x', { state: { running: {} } }))).toBeUndefined();
    expect(
      containerTrouble(status('x', { state: { waiting: { reason: 'PodInitializing' } } })),
    ).toBeUndefined();
  });

  it('names an image that cannot be had, with the kubelet’s message', () => {
    const s = status('x', { state: { waiting: { reason: 'ErrImageNeverPull', message: 'not present' } } });
    expect(containerTrouble(s)).toBe('its image x:1 cannot be pulled (ErrImageNeverPull: not present)');
  });

  it('gives the last run’s exit code, the restarts and the last log line of a crash loop', () => {
    const s = status('x', {
      restartCount: 3,
      state: { waiting: { reason: 'CrashLoopBackOff' } },
      lastState: { terminated: { exitCode: 1, reason: 'Error' } },
    });
    expect(containerTrouble(s, 'starting\nconfig /x: no such file\n')).toBe(
      'it exits with code 1 (Error), restarted 3 time(s); its last log line: "config /x: no such file"',
    );
  });

  it('does not call an old crash trouble once the container runs again', () => {
    const s = status('x', { state: { running: {} }, lastState: { terminated: { exitCode: 1 } } });
    expect(containerTrouble(s)).toBeUndefined();
  });
});

describe('checkSidecarRuntime', () => {
  it('passes when sidecar-init exited 0 and the proxy is running and ready', () => {
    const proxy = status('sidecar-proxy', { ready: true, state: { running: {} } });
    expect(checkSidecarRuntime(podInputs([initDone, proxy]))).toEqual({
      name: 'sidecar-running:shop/web',
      status: 'pass',
      reason: 'sidecar-init exited 0; the proxy is running and ready',
    });
  });

  it('fails naming the proxy, its exit and its last words when it cannot start', () => {
    const proxy = status('sidecar-proxy', {
      restartCount: 2,
      state: { waiting: { reason: 'CrashLoopBackOff' } },
      lastState: { terminated: { exitCode: 1, reason: 'Error' } },
    });
    const r = checkSidecarRuntime(podInputs([initDone, proxy], { 'sidecar-proxy': 'no listener\n' }))!;
    expect(r.status).toBe('fail');
    expect(r.reason).toMatch(/^the proxy cannot start: it exits with code 1 \(Error\), restarted 2/);
    expect(r.reason).toContain('"no listener"');
    expect(r.fix).toContain('proxy-config bootstrap --pod web -n shop');
  });

  it('fails on sidecar-init before looking at the proxy', () => {
    const init = status('sidecar-init', { state: { terminated: { exitCode: 2, reason: 'Error' } } });
    const r = checkSidecarRuntime(podInputs([init]))!;
    expect(r.status).toBe('fail');
    expect(r.reason).toMatch(/^sidecar-init cannot set up the pod: it exits with code 2/);
  });

  it('warns when the proxy runs but is not ready, and when sidecar-init ran but the proxy has not started', () => {
    const notReady = status('sidecar-proxy', { state: { running: {} }, restartCount: 1 });
    expect(checkSidecarRuntime(podInputs([initDone, notReady]))).toMatchObject({
      status: 'warn',
      reason: expect.stringContaining('not ready (restarted 1 time(s))'),
    });
    expect(checkSidecarRuntime(podInputs([initDone]))).toMatchObject({ status: 'warn' });
    // Not on a node yet: the injection checks speak for it, this one has nothing to say.
    expect(checkSidecarRuntime(podInputs([]))).toBeUndefined();
  });

  it('says nothing for a pod without our sidecar', () => {
    expect(checkSidecarRuntime({ ...base(), pod: { name: 'web', found: true, pod: app } })).toBeUndefined();
  });
});

const hook = (failurePolicy: string): V1MutatingWebhookConfiguration => ({
  webhooks: [
    {
      name: 'inject.sidecar.dev',
      failurePolicy,
      clientConfig: { service: { name: 'sidecar-operator', namespace: 'sidecar-system' } },
      admissionReviewVersions: ['v1'],
      sideEffects: 'None',
    },
  ],
});

function workload(w: OperatorWorkload, failurePolicy = 'Fail'): DoctorInputs {
  return { ...base(), workload: w, webhookConfigurations: [hook(failurePolicy)] };
}

const deployment = (replicas: number, ready: number, problems: string[] = []) => ({
  name: 'sidecar-operator',
  replicas,
  ready,
  problems,
});

describe('checkOperatorWorkload', () => {
  it('fails a Deployment scaled to 0 and says what that does to pods', () => {
    const r = checkOperatorWorkload(
      workload({ deployments: [deployment(0, 0)], service: { name: 'sidecar-operator', readyEndpoints: 0 } }),
    )!;
    expect(r.status).toBe('fail');
    expect(r.reason).toBe(
      'Deployment sidecar-system/sidecar-operator is scaled to 0: no replica serves the webhook or reconciles policies; the API server refuses every pod in governed namespaces (failurePolicy Fail)',
    );
    expect(r.fix).toMatch(/^kubectl scale deployment\/sidecar-operator -n sidecar-system --replicas=2/);
    const open = checkOperatorWorkload(workload({ deployments: [deployment(0, 0)] }, 'Ignore'))!;
    expect(open.reason).toContain('created without a sidecar (failurePolicy Ignore)');
  });

  it('fails with no replica ready, naming why; warns with some', () => {
    const none = checkOperatorWorkload(
      workload({ deployments: [deployment(2, 0, ['pod a: it is waiting: CrashLoopBackOff'])] }),
    )!;
    expect(none).toMatchObject({ status: 'fail' });
    expect(none.reason).toContain('0 of 2 replicas ready: pod a: it is waiting: CrashLoopBackOff');
    expect(checkOperatorWorkload(workload({ deployments: [deployment(2, 1)] }))).toMatchObject({
      status: 'warn',
    });
  });

  it('fails ready replicas behind a Service without endpoints; passes a healthy one', () => {
    const orphan = checkOperatorWorkload(
      workload({ deployments: [deployment(2, 2)], service: { name: 'sidecar-operator', readyEndpoints: 0 } }),
    )!;
    expect(orphan.status).toBe('fail');
    expect(orphan.reason).toContain('has no ready endpoints');
    expect(
      checkOperatorWorkload(
        workload({
          deployments: [deployment(2, 2)],
          service: { name: 'sidecar-operator', readyEndpoints: 2 },
        }),
      ),
    ).toEqual({
      name: 'operator-replicas',
      status: 'pass',
      reason:
        'Deployment sidecar-system/sidecar-operator: 2/2 replicas ready; the webhook Service has 2 ready endpoint(s)',
    });
  });

  it('says nothing when the operator runs outside the cluster', () => {
    expect(checkOperatorWorkload(workload({ deployments: [] }))).toBeUndefined();
    expect(checkOperatorWorkload(base())).toBeUndefined();
  });
});
