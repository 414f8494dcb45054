import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { DoctorInputs, LeaderLease, ReplicaReadiness } from './inputs.js';
import { checkLeader, checkReplicaReadiness } from './operator-checks.js';
import { readyzTarget } from './readyz.js';

const now = new Date('2026-06-01T00:00:00Z');
const base = (over: Partial<DoctorInputs>): DoctorInputs => ({
  now,
  groupVersions: [],
  crdInstalled: true,
  operatorNamespaceCandidates: [],
  policies: [],
  scope: [],
  webhookConfigurations: [],
  probes: new Map(),
  operatorNamespace: 'sidecar-system',
  ...over,
});
const lease = (over: Partial<LeaderLease>): DoctorInputs =>
  base({
    lease: { namespace: 'sidecar-system', name: 'sidecar-operator-leader', found: true, ...over },
  });
const ago = (s: number): Date => new Date(now.getTime() - s * 1000);

describe('the leader Lease', () => {
  it('passes a holder that renewed within its term, naming it', () => {
    const r = checkLeader(lease({ holder: 'op-a', renewTime: ago(3), durationSeconds: 15 }));
    expect(r).toMatchObject({ name: 'operator-leader', status: 'pass' });
    expect(r?.reason).toBe(
      'op-a leads (the Lease sidecar-system/sidecar-operator-leader was renewed 3s ago; its term is 15s)',
    );
  });

  it('fails a holder that has not renewed for longer than its term and the slack (SO117)', () => {
    expect(checkLeader(lease({ holder: 'op-a', renewTime: ago(20), durationSeconds: 15 }))?.status).toBe(
      'pass',
    );
    const r = checkLeader(lease({ holder: 'op-a', renewTime: ago(41), durationSeconds: 15 }));
    expect(r).toMatchObject({ status: 'fail', code: 'SO117', docs: 'docs/doctor.md#so117' });
    expect(r?.reason).toBe(
      'leader op-a has not renewed the Lease sidecar-system/sidecar-operator-leader for 41s (its term is 15s): frozen or partitioned; nothing reconciles until another replica takes the Lease',
    );
  });

  it('fails a released Lease, warns a missing one (SO116), says nothing without one gathered', () => {
    expect(checkLeader(lease({ renewTime: ago(1) }))).toMatchObject({ status: 'fail', code: 'SO116' });
    expect(checkLeader(lease({ found: false }))).toMatchObject({ status: 'warn', code: 'SO116' });
    expect(checkLeader(lease({ found: false, error: '403 forbidden' }))?.reason).toMatch(/403 forbidden/);
    expect(checkLeader(base({}))).toBeUndefined();
  });

  it('takes a renewal from a clock ahead of ours as fresh', () => {
    expect(checkLeader(lease({ holder: 'op-a', renewTime: ago(-30), durationSeconds: 15 }))?.status).toBe(
      'pass',
    );
  });
});

const workload = (replicas: ReplicaReadiness[]): DoctorInputs =>
  base({
    workload: { deployments: [{ name: 'sidecar-operator', replicas: 2, ready: 2, problems: [] }], replicas },
  });

describe("each replica's /readyz through the pods proxy", () => {
  it('passes a 200, fails a pod that answers otherwise when none is ready (SO118)', () => {
    expect(checkReplicaReadiness(workload([{ pod: 'op-a', httpStatus: 200, body: 'ok' }]))).toMatchObject([
      { name: 'operator-readyz:op-a', status: 'pass' },
    ]);
    const [r] = checkReplicaReadiness(
      workload([{ pod: 'op-a', httpStatus: 503, body: 'templates not loaded' }]),
    );
    expect(r).toMatchObject({ status: 'fail', code: 'SO118' });
    expect(r?.reason).toBe(
      'pod sidecar-system/op-a is not ready: /readyz answered 503: templates not loaded; no replica is ready to serve the webhook',
    );
  });

  it('warns a not-ready replica when another is ready', () => {
    const rs = checkReplicaReadiness(
      workload([
        { pod: 'op-a', httpStatus: 200, body: 'ok' },
        { pod: 'op-b', httpStatus: 503, body: 'no' },
      ]),
    );
    expect(rs.map((r) => [r.name, r.status, r.code])).toEqual([
      ['operator-readyz:op-a', 'pass', undefined],
      ['operator-readyz:op-b', 'warn', 'SO118'],
    ]);
  });

  it("tells the API server's proxy failing (SO119) from the pod's answer", () => {
    const body =
      '{"kind":"Status","apiVersion":"v1","status":"Failure","message":"error trying to reach service: dial tcp 10.0.0.7:8080: connect: connection refused","code":503}';
    const [r] = checkReplicaReadiness(workload([{ pod: 'op-a', httpStatus: 503, body }]));
    expect(r).toMatchObject({ status: 'warn', code: 'SO119' });
    expect(r?.reason).toContain('error trying to reach service');
    expect(
      checkReplicaReadiness(workload([{ pod: 'op-a', error: 'it has no IP yet (Pending)' }]))[0],
    ).toMatchObject({
      status: 'warn',
      code: 'SO119',
    });
  });

  it('is skipped, saying so, when no pod of the operator exists; absent without a Deployment', () => {
    expect(checkReplicaReadiness(workload([]))).toEqual([
      {
        name: 'operator-readyz',
        status: 'pass',
        reason: "not checked: no pod of the operator's Deployment exists in sidecar-system",
      },
    ]);
    expect(checkReplicaReadiness(base({ workload: { deployments: [], replicas: [] } }))).toEqual([]);
  });

  it('reads /readyz on the plain-HTTP probe port, else over TLS on the webhook port', () => {
    const pod = (ports: { name: string; containerPort: number }[]): V1Pod => ({
      metadata: { name: 'op-a' },
      spec: { containers: [{ name: 'operator', ports }] },
    });
    expect(
      readyzTarget(
        pod([
          { name: 'webhook', containerPort: 9443 },
          { name: 'probes', containerPort: 8080 },
        ]),
      ),
    ).toBe('op-a:8080');
    expect(readyzTarget(pod([{ name: 'webhook', containerPort: 9443 }]))).toBe('https:op-a:9443');
    expect(readyzTarget(pod([]))).toBeUndefined();
  });
});
