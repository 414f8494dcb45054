import jsonpatch from 'fast-json-patch';
import { describe, expect, it } from 'vitest';
import { compileTemplate } from '../inject/index.js';
import { admissionEvent, eventTarget } from './admission-events.js';
import type { AdmissionRequest } from './codec.js';
import { handleAdmission } from './handler.js';

/** The init image the operator would pass; fixed, so that a release's version changes no expectation. */
const initImage = 'ghcr.io/sidecar-operator/sidecar-operator:v0.1.0';

const template = compileTemplate(
  { metadata: { name: 'mesh' }, spec: { selector: { namespaces: ['apps'] } } },
  { nativeSidecars: true, initImage },
);
const templates = new Map([['mesh', template]]);
const owner = {
  apiVersion: 'apps/v1',
  kind: 'ReplicaSet',
  name: 'web-7c9f',
  uid: 'rs-uid',
  controller: true,
};

function request(metadata: Record<string, unknown>, extra: Partial<AdmissionRequest> = {}): AdmissionRequest {
  return {
    uid: 'u-1',
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    operation: 'CREATE',
    namespace: 'apps',
    object: { metadata, spec: { containers: [{ name: 'app', image: 'nginx' }] } },
    dryRun: false,
    ...extra,
  };
}

const eventFor = (req: AdmissionRequest, policy = 'mesh') =>
  admissionEvent(
    policy,
    req,
    handleAdmission(policy, req, templates, { operatorNamespace: 'sidecar-system' }),
  );

describe('eventTarget', () => {
  it('is the controlling owner, in the pod’s namespace', () => {
    const other = { apiVersion: 'v1', kind: 'ConfigMap', name: 'x', uid: 'cm' };
    expect(eventTarget(request({ generateName: 'web-7c9f-', ownerReferences: [other, owner] }))).toEqual({
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      name: 'web-7c9f',
      uid: 'rs-uid',
      namespace: 'apps',
    });
  });

  it('is the pod itself when it has a name and no controller, without a uid', () => {
    const notController = { ...owner, controller: false };
    expect(eventTarget(request({ name: 'solo', ownerReferences: [notController] }))).toEqual({
      apiVersion: 'v1',
      kind: 'Pod',
      name: 'solo',
      namespace: 'apps',
    });
  });

  it('is nothing for a bare pod named by generateName, or without a namespace', () => {
    expect(eventTarget(request({ generateName: 'solo-' }))).toBeUndefined();
    expect(eventTarget(request({ name: 'p' }, { namespace: undefined }))).toBeUndefined();
  });
});

describe('admissionEvent', () => {
  it('Injected (Normal) names the policy and revision, not the pod', () => {
    const ev = eventFor(request({ generateName: 'web-7c9f-', ownerReferences: [owner] }));
    expect(ev).toMatchObject({ type: 'Normal', reason: 'Injected', object: { kind: 'ReplicaSet' } });
    expect(ev?.message).toBe(`pod injected with policy mesh revision ${template.revision}`);
  });

  it('Injected (Warning) on the Job, with the warning, for a Classic proxy in a pod that must complete', () => {
    const classic = compileTemplate(
      { metadata: { name: 'mesh' }, spec: { selector: { namespaces: ['apps'] } } },
      { nativeSidecars: false, initImage },
    );
    const job = { apiVersion: 'batch/v1', kind: 'Job', name: 'report', uid: 'job-uid', controller: true };
    const req = request({ generateName: 'report-', ownerReferences: [job] });
    (req.object as { spec: Record<string, unknown> }).spec.restartPolicy = 'Never';
    const outcome = handleAdmission('mesh', req, new Map([['mesh', classic]]), { operatorNamespace: 'x' });
    expect(outcome.response.warnings).toEqual([
      expect.stringMatching(/^spec\.restartPolicy is Never .*never exits/),
    ]);
    const ev = admissionEvent('mesh', req, outcome);
    expect(ev).toMatchObject({
      type: 'Warning',
      reason: 'Injected',
      object: { kind: 'Job', name: 'report' },
    });
    expect(ev?.message).toMatch(
      new RegExp(
        `^pod injected with policy mesh revision ${classic.revision}; spec\\.restartPolicy is Never`,
      ),
    );
  });

  it('InjectionSkipped (Normal) carries the reason code and its sentence', () => {
    const opted = eventFor(
      request({
        generateName: 'w-',
        ownerReferences: [owner],
        annotations: { 'sidecar.dev/inject': 'false' },
      }),
    );
    expect(opted).toMatchObject({ type: 'Normal', reason: 'InjectionSkipped' });
    expect(opted?.message).toBe(
      'OptedOut: pod opted out with annotation sidecar.dev/inject=false (policy mesh)',
    );
    const hostNet = request({ name: 'h' });
    (hostNet.object as { spec: Record<string, unknown> }).spec.hostNetwork = true;
    expect(eventFor(hostNet)?.message).toMatch(/^HostNetwork: /);
    const unknown = eventFor(request({ name: 'u' }), 'gone');
    expect(unknown).toMatchObject({ reason: 'InjectionSkipped' });
    expect(unknown?.message).toMatch(/^UnknownPolicy: sidecar policy "gone" is unknown/);
  });

  it('InjectionSkipped is a Warning when the pod already carries another mesh', () => {
    const req = request({ generateName: 'w-', ownerReferences: [owner] });
    (req.object as { spec: { containers: unknown[] } }).spec.containers.push({ name: 'linkerd-proxy' });
    const ev = eventFor(req);
    expect(ev).toMatchObject({ type: 'Warning', reason: 'InjectionSkipped', object: { kind: 'ReplicaSet' } });
    expect(ev?.message).toMatch(/^AlreadyMeshed: pod already carries another mesh’s sidecar \(Linkerd: /);
    expect(ev?.message).toMatch(/\(policy mesh\)$/);
  });

  it('InjectionFailed (Warning) for an errored answer', () => {
    const req = request({ name: 'p' });
    // Templates not loaded yet: the answer is an error and failurePolicy decides.
    const ev = admissionEvent(
      'mesh',
      req,
      handleAdmission('mesh', req, undefined, { operatorNamespace: 'x' }),
    );
    expect(ev).toMatchObject({ type: 'Warning', reason: 'InjectionFailed' });
    expect(ev?.message).toMatch(/^TemplatesNotLoaded: /);
  });

  it('InjectionRefused (Warning) for a pod denied by the engine', () => {
    const req = request({ generateName: 'w-', ownerReferences: [owner] });
    req.object = {
      ...req.object,
      spec: { securityContext: { runAsGroup: 1337 }, containers: [{ name: 'app' }] },
    };
    const ev = eventFor(req);
    expect(ev).toMatchObject({ type: 'Warning', reason: 'InjectionRefused', object: { kind: 'ReplicaSet' } });
    expect(ev?.message).toMatch(
      /^RunsAsProxyIdentity: pod refused: container app runs as GID 1337 \(from the pod’s securityContext\).*\(policy mesh\)$/,
    );
  });

  it('none for dry runs, non-creations, re-invocations of an injected pod, and unnamed bare pods', () => {
    expect(eventFor(request({ name: 'p' }, { dryRun: true }))).toBeUndefined();
    expect(eventFor(request({ name: 'p' }, { operation: 'UPDATE' }))).toBeUndefined();
    expect(eventFor(request({ generateName: 'solo-' }))).toBeUndefined();
    const first = request({ generateName: 'w-', ownerReferences: [owner] });
    const outcome = handleAdmission('mesh', first, templates, { operatorNamespace: 'sidecar-system' });
    expect(outcome.result).toBe('injected');
    // The API server calls again with the pod as the first call's patch left it.
    const injected = jsonpatch.applyPatch(
      structuredClone(first.object),
      outcome.response.patch as jsonpatch.Operation[],
      true,
      false,
    ).newDocument;
    const again = { ...first, object: injected };
    const second = handleAdmission('mesh', again, templates, { operatorNamespace: 'sidecar-system' });
    expect(second.reason).toBe('AlreadyInjected');
    expect(admissionEvent('mesh', again, second)).toBeUndefined();
  });
});
