import { describe, expect, it } from 'vitest';
import type { SidecarPolicy } from '../api/index.js';
import { compileTemplate, injectPod, type Pod } from '../inject/index.js';
import { checkGovernedPods, checkUnlistedCounts } from './governed-pods-checks.js';
import type { DoctorInputs } from './inputs.js';
import { checkPod } from './pod-checks.js';

const compile = (revisionSalt: string) =>
  compileTemplate(
    {
      metadata: { name: 'mesh' },
      spec: { selector: { namespaces: ['shop'] }, proxy: { drainSeconds: revisionSalt.length } },
    },
    { nativeSidecars: true, initImage: 'ghcr.io/sidecar-operator/sidecar-operator:v0.1.0' },
  );
const template = compile('now');
const older = compile('before');

/** A pod of a Deployment (ReplicaSet owner with the template hash), or of another owner. */
function pod(
  name: string,
  owner?: { kind: string; name: string },
  spec: Partial<NonNullable<Pod['spec']>> = {},
  meta: Partial<NonNullable<Pod['metadata']>> = {},
): Pod {
  return {
    metadata: {
      name,
      namespace: 'shop',
      ...(owner
        ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: owner.kind, name: owner.name, uid: 'u' }] }
        : {}),
      ...(owner?.kind === 'ReplicaSet'
        ? { labels: { 'pod-template-hash': owner.name.split('-').pop()! } }
        : {}),
      ...meta,
    },
    spec: { containers: [{ name: 'app', image: 'nginx' }], ...spec },
  };
}
const inject = (p: Pod, t = template): Pod =>
  injectPod(p, t, { namespace: 'shop', operatorNamespace: 'sidecar-system' }).pod;

const shop = { metadata: { name: 'shop', labels: { 'sidecar.dev/policy': 'mesh' } } };
function inputs(pods: Pod[], over: Partial<DoctorInputs> = {}): DoctorInputs {
  return {
    now: new Date('2026-06-01T00:00:00Z'),
    groupVersions: [],
    crdInstalled: true,
    operatorNamespaceCandidates: [],
    policies: [],
    scope: ['mesh'],
    webhookConfigurations: [],
    probes: new Map(),
    operatorNamespace: 'sidecar-system',
    templates: { templates: new Map([['mesh', template]]), errors: [] },
    governedPods: [{ namespace: 'shop', policy: 'mesh', pods }],
    mesh: {
      governed: new Map([['shop', { policy: 'mesh', object: shop }]]),
      meshedPods: [],
      foreignWebhooks: [],
    },
    ...over,
  };
}

describe('the pods of a governed namespace', () => {
  it('names host-network and opted-out pods as skipped by design, not as misses', () => {
    const rs = checkGovernedPods(
      inputs([
        inject(pod('web')),
        pod('node-agent', { kind: 'DaemonSet', name: 'node-agent' }, { hostNetwork: true }),
        pod('batch', undefined, {}, { annotations: { 'sidecar.dev/inject': 'false' } }),
      ]),
    );
    expect(rs).toEqual([
      {
        name: 'pods:shop',
        status: 'pass',
        reason: `1 pod(s) injected at mesh revision ${template.revision}; skipped: 1 on the host network (node-agent), never injected by design, 1 opted out (batch)`,
      },
    ]);
  });

  it('warns a missed pod (SO166) with the exact command that re-creates it through its owner', () => {
    const rs = checkGovernedPods(
      inputs([
        pod('web-7d9c5b6f4-abcde', { kind: 'ReplicaSet', name: 'web-7d9c5b6f4' }),
        pod('db-0', { kind: 'StatefulSet', name: 'db' }),
        pod('lonely'),
        pod('node-agent', { kind: 'DaemonSet', name: 'node-agent' }, { hostNetwork: true }),
      ]),
    );
    expect(rs).toHaveLength(1);
    expect(rs[0]).toMatchObject({ name: 'pods-missed:shop', status: 'warn', code: 'SO166' });
    expect(rs[0]!.reason).toMatch(
      /^3 pod\(s\) in shop have no sidecar but would get one from mesh if created now \(db-0, lonely, web-7d9c5b6f4-abcde\)/,
    );
    expect(rs[0]!.reason).toMatch(/skipped: 1 on the host network \(node-agent\), never injected by design$/);
    expect(rs[0]!.fix).toBe(
      'kubectl -n shop delete pod lonely; kubectl -n shop rollout restart deployment/web; kubectl -n shop rollout restart statefulset/db',
    );
  });

  it('warns outdated pods (SO163) with their restart commands', () => {
    const rs = checkGovernedPods(
      inputs([inject(pod('agent-x1', { kind: 'DaemonSet', name: 'agent' }), older)]),
    );
    expect(rs).toMatchObject([{ name: 'pods-outdated:shop', status: 'warn', code: 'SO163' }]);
    expect(rs[0]!.fix).toBe(
      'kubectl -n shop rollout restart daemonset/agent (or set spec.rollout.strategy: Restart on the policy)',
    );
  });

  it("leaves a policy's count alone when its pods were listed, and warns it (SO146) when not", () => {
    const p: SidecarPolicy = {
      metadata: { name: 'mesh' },
      spec: { selector: { namespaces: ['shop'] } },
      status: { namespaces: 2, uninjectedPods: 3 },
    };
    expect(checkUnlistedCounts(inputs([], { policies: [p] }))).toMatchObject([
      { name: 'policy-pods:mesh', code: 'SO146' },
    ]);
    const one = { ...p, status: { ...p.status, namespaces: 1 } };
    expect(checkUnlistedCounts(inputs([], { policies: [one] }))).toEqual([]);
  });

  it('gives --pod the exact restart command of a missed pod', () => {
    const missed = pod('web-7d9c5b6f4-abcde', { kind: 'ReplicaSet', name: 'web-7d9c5b6f4' });
    const r = checkPod(
      inputs([], {
        namespace: { name: 'shop', object: shop },
        pod: { name: 'web-7d9c5b6f4-abcde', found: true, pod: missed },
      }),
    );
    expect(r).toMatchObject({
      status: 'warn',
      code: 'SO166',
      fix: 'kubectl -n shop rollout restart deployment/web',
    });
  });
});
