import fc from 'fast-check';
import jsonpatch from 'fast-json-patch';
import { describe, expect, it } from 'vitest';
import { compileTemplate, type CompiledTemplate, type Pod } from '../inject/index.js';
import type { AdmissionRequest } from './codec.js';
import { handleAdmission } from './handler.js';

/** The init image the operator would pass; fixed, so that a release's version changes no expectation. */
const initImage = 'ghcr.io/sidecar-operator/sidecar-operator:v0.1.0';

const template = compileTemplate(
  { metadata: { name: 'mesh' }, spec: { selector: { namespaces: ['apps'] } } },
  { nativeSidecars: true, initImage },
);
const templates: ReadonlyMap<string, CompiledTemplate> = new Map([['mesh', template]]);
const ctx = { operatorNamespace: 'sidecar-system' };

function podRequest(object: Record<string, unknown>, over: Partial<AdmissionRequest> = {}): AdmissionRequest {
  return {
    uid: 'uid-1',
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    operation: 'CREATE',
    namespace: 'apps',
    object,
    dryRun: false,
    ...over,
  };
}

const appPod = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { generateName: 'web-', labels: { app: 'web' } },
  spec: { containers: [{ name: 'app', image: 'nginx' }] },
  ...extra,
});

function apply(object: Record<string, unknown>, patch: unknown): Pod {
  return jsonpatch.applyPatch(structuredClone(object), patch as jsonpatch.Operation[], true, false)
    .newDocument;
}

describe('handleAdmission', () => {
  it('injects a pod: allowed, a patch that adds the sidecar, the revision in the audit annotations', () => {
    const out = handleAdmission('mesh', podRequest(appPod()), templates, ctx);
    expect(out.result).toBe('injected');
    expect(out.reason).toBe('Injected');
    expect(out.pod).toBe('web-');
    expect(out.response.uid).toBe('uid-1');
    expect(out.response.allowed).toBe(true);
    expect(out.response.auditAnnotations).toEqual({ 'injected-revision': `mesh@${template.revision}` });
    const pod = apply(appPod(), out.response.patch);
    expect(pod.spec?.initContainers?.map((c) => c.name)).toEqual(['sidecar-init', 'sidecar-proxy']);
    expect(pod.spec?.volumes?.map((v) => v.name)).toContain('sidecar-config');
    expect(JSON.parse(pod.metadata!.annotations!['sidecar.dev/status']!).revision).toBe(template.revision);
  });

  it('injects from a copy without managedFields and never patches them', () => {
    const managedFields = [{ manager: 'kubectl', fieldsV1: { 'f:spec': {} } }];
    const object = appPod({ metadata: { name: 'big', managedFields } });
    const out = handleAdmission('mesh', podRequest(object), templates, ctx);
    expect(out.result).toBe('injected');
    expect(JSON.stringify(out.response.patch)).not.toContain('managedFields');
    expect(JSON.stringify(out.response.patch)).not.toContain('kubectl');
    expect((object.metadata as { managedFields: unknown }).managedFields).toBe(managedFields);
    expect(apply(object, out.response.patch).metadata?.managedFields).toEqual(managedFields);
  });

  it('takes the namespace from the request when the pod does not name one', () => {
    const out = handleAdmission(
      'mesh',
      podRequest(appPod(), { namespace: 'sidecar-system' }),
      templates,
      ctx,
    );
    expect(out).toMatchObject({
      result: 'skipped',
      reason: 'ExcludedNamespace',
      namespace: 'sidecar-system',
    });
  });

  const skipped: [string, Record<string, unknown>, string][] = [
    ['hostNetwork', appPod({ spec: { hostNetwork: true, containers: [{ name: 'a' }] } }), 'HostNetwork'],
    ['opted out', appPod({ metadata: { annotations: { 'sidecar.dev/inject': 'false' } } }), 'OptedOut'],
    ['not matching the pod selector', appPod(), 'PodSelectorMismatch'],
  ];
  it.each(skipped)(
    'skips a pod %s: allowed, no patch, reason in audit annotations',
    (what, object, reason) => {
      const t =
        reason === 'PodSelectorMismatch'
          ? new Map([
              [
                'mesh',
                compileTemplate(
                  {
                    metadata: { name: 'mesh' },
                    spec: { selector: { namespaces: ['apps'], podSelector: { matchLabels: { app: 'db' } } } },
                  },
                  { nativeSidecars: true, initImage },
                ),
              ],
            ])
          : templates;
      const out = handleAdmission('mesh', podRequest(object), t, ctx);
      expect(out.result, what).toBe('skipped');
      expect(out.reason).toBe(reason);
      expect(out.response).toEqual({
        uid: 'uid-1',
        allowed: true,
        auditAnnotations: { 'skip-reason': reason },
      });
    },
  );

  it('skips a pod it already injected (reinvocation), so a second call adds nothing', () => {
    const first = handleAdmission('mesh', podRequest(appPod()), templates, ctx);
    const injected = apply(appPod(), first.response.patch) as unknown as Record<string, unknown>;
    const again = handleAdmission('mesh', podRequest(injected), templates, ctx);
    expect(again.result).toBe('skipped');
    expect(again.reason).toBe('AlreadyInjected');
    expect(again.response.patch).toBeUndefined();
  });

  it('injects a pod that claims an injection in its annotation and label but has no sidecar', () => {
    const claim = appPod({
      metadata: {
        generateName: 'web-',
        labels: { app: 'web', 'sidecar.dev/revision': template.revision },
        annotations: {
          'sidecar.dev/status': JSON.stringify({ policy: 'mesh', revision: template.revision }),
        },
      },
    });
    const out = handleAdmission('mesh', podRequest(claim), templates, ctx);
    expect(out.result).toBe('injected');
    const pod = apply(claim, out.response.patch);
    expect(pod.spec?.initContainers?.map((c) => c.name)).toEqual(['sidecar-init', 'sidecar-proxy']);
    expect(JSON.parse(pod.metadata!.annotations!['sidecar.dev/status']!).initContainers).toEqual([
      'sidecar-init',
      'sidecar-proxy',
    ]);
  });

  it('denies a pod whose application runs as the proxy’s UID, whatever the failurePolicy', () => {
    const object = appPod({
      spec: { containers: [{ name: 'app', image: 'nginx', securityContext: { runAsUser: 1337 } }] },
    });
    const out = handleAdmission('mesh', podRequest(object), templates, ctx);
    expect(out.result).toBe('refused');
    expect(out.reason).toBe('RunsAsProxyIdentity');
    expect(out.response).toEqual({
      uid: 'uid-1',
      allowed: false,
      status: { code: 403, reason: 'Forbidden', message: `sidecar injector: ${out.message}` },
      auditAnnotations: { 'refuse-reason': 'RunsAsProxyIdentity' },
    });
    expect(out.message).toMatch(/^pod refused: container app runs as UID 1337, the sidecar proxy’s own;/);
  });

  it('with compatibility.istio, denies a pod with a malformed Istio annotation, naming it', () => {
    const istio = compileTemplate(
      {
        metadata: { name: 'istio' },
        spec: {
          selector: { namespaces: ['apps'] },
          compatibility: { istio: true },
          injection: { allowedOverrides: ['excludeOutboundPorts'] },
        },
      },
      { nativeSidecars: true, initImage },
    );
    const withIstio = new Map([['istio', istio]]);
    const annotated = (value: string) =>
      appPod({
        metadata: { name: 'web', annotations: { 'traffic.sidecar.istio.io/excludeOutboundPorts': value } },
      });
    const out = handleAdmission('istio', podRequest(annotated('bad')), withIstio, ctx);
    expect(out.result).toBe('refused');
    expect(out.response).toMatchObject({
      allowed: false,
      status: { code: 403 },
      auditAnnotations: { 'refuse-reason': 'InvalidIstioAnnotation' },
    });
    expect(out.response.status?.message).toContain(
      'invalid value "bad" for annotation traffic.sidecar.istio.io/excludeOutboundPorts',
    );
    const ok = handleAdmission('istio', podRequest(annotated('25')), withIstio, ctx);
    expect(ok.result).toBe('injected');
    const init = apply(annotated('25'), ok.response.patch).spec?.initContainers?.[0];
    expect(init?.args).toEqual(expect.arrayContaining(['-o', '25']));
  });

  it('skips a pod carrying another mesh with a warning for kubectl and the reason for the audit log', () => {
    const meshed = appPod({
      spec: {
        initContainers: [{ name: 'istio-init', image: 'istio/proxyv2' }],
        containers: [
          { name: 'app', image: 'nginx' },
          { name: 'istio-proxy', image: 'istio/proxyv2' },
        ],
      },
    });
    const out = handleAdmission('mesh', podRequest(meshed), templates, ctx);
    expect(out).toMatchObject({ result: 'skipped', reason: 'AlreadyMeshed' });
    expect(out.response).toEqual({
      uid: 'uid-1',
      allowed: true,
      warnings: [
        'sidecar injector: pod already carries another mesh’s sidecar (Istio: istio-init, istio-proxy); ' +
          'a second would capture the same traffic twice',
      ],
      auditAnnotations: { 'skip-reason': 'AlreadyMeshed' },
    });
    // A pod another policy of ours injected is another mesh for this one.
    const other = compileTemplate(
      { metadata: { name: 'other' }, spec: { selector: { namespaces: ['apps'] } } },
      { nativeSidecars: true, initImage },
    );
    const first = handleAdmission('other', podRequest(appPod()), new Map([['other', other]]), ctx);
    const injected = apply(appPod(), first.response.patch) as unknown as Record<string, unknown>;
    const second = handleAdmission('mesh', podRequest(injected), templates, ctx);
    expect(second.reason).toBe('AlreadyMeshed');
    expect(second.response.patch).toBeUndefined();
    expect(second.response.warnings?.[0]).toContain('of policy other');
  });

  it('ignores what is not a pod CREATE: allowed, no patch', () => {
    const cases: AdmissionRequest[] = [
      podRequest(appPod(), { operation: 'UPDATE' }),
      podRequest(appPod(), { operation: 'DELETE', object: null }),
      podRequest(appPod(), { subResource: 'ephemeralcontainers' }),
      podRequest(
        { kind: 'Deployment' },
        {
          kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
          resource: { group: 'apps', version: 'v1', resource: 'deployments' },
        },
      ),
    ];
    for (const req of cases) {
      const out = handleAdmission('mesh', req, templates, ctx);
      expect(out.result).toBe('ignored');
      expect(out.response).toEqual({ uid: 'uid-1', allowed: true });
    }
    expect(handleAdmission('mesh', cases[0]!, templates, ctx).reason).toBe('NotCreate');
    expect(handleAdmission('mesh', cases[3]!, templates, ctx).reason).toBe('NotPod');
  });

  it('admits a pod for an unknown policy with a warning', () => {
    const out = handleAdmission('gone', podRequest(appPod()), templates, ctx);
    expect(out.result).toBe('unknown_policy');
    expect(out.response.allowed).toBe(true);
    expect(out.response.uid).toBe('uid-1');
    expect(out.response.patch).toBeUndefined();
    expect(out.response.warnings?.[0]).toMatch(/policy "gone" is unknown/);
    expect(out.response.auditAnnotations).toEqual({ 'unknown-policy': 'gone' });
  });

  it('answers an errored response while no templates were ever loaded (failurePolicy decides)', () => {
    const out = handleAdmission('mesh', podRequest(appPod()), undefined, ctx);
    expect(out.result).toBe('error');
    expect(out.reason).toBe('TemplatesNotLoaded');
    expect(out.response).toMatchObject({ uid: 'uid-1', allowed: false, status: { code: 503 } });
  });

  it('turns a failure inside injection into an errored response that keeps the UID', () => {
    const hostile = appPod();
    Object.defineProperty(hostile, 'spec', {
      enumerable: true,
      get() {
        throw new Error('unreadable spec');
      },
    });
    const out = handleAdmission('mesh', podRequest(hostile, { uid: 'uid-9' }), templates, ctx);
    expect(out.result).toBe('error');
    expect(out.reason).toBe('InternalError');
    // The cause goes to the log (and an authenticated caller's Event), not into the answer.
    expect(out.message).toBe('injection failed: unreadable spec');
    expect(out.response).toEqual({
      uid: 'uid-9',
      allowed: false,
      status: {
        code: 500,
        message: "sidecar injector: injection failed; the operator's log has the cause under uid uid-9",
      },
    });
  });

  it('never throws and always echoes the UID, whatever the object holds', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom('metadata', 'spec', 'kind', 'status'), fc.anything()),
        fc.string({ minLength: 1 }),
        (object, uid) => {
          const out = handleAdmission('mesh', podRequest(object, { uid }), templates, ctx);
          expect(out.response.uid).toBe(uid);
          expect(['injected', 'skipped', 'refused', 'error']).toContain(out.result);
        },
      ),
      { numRuns: 300 },
    );
  });
});
