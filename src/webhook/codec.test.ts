import { describe, expect, it } from 'vitest';
import { decodeAdmissionReview, encodeAdmissionReview } from './codec.js';

const request = {
  uid: '705ab4f5-6393-11e8-b7cc-42010a800002',
  kind: { group: '', version: 'v1', kind: 'Pod' },
  resource: { group: '', version: 'v1', resource: 'pods' },
  operation: 'CREATE',
  namespace: 'apps',
  object: { metadata: { generateName: 'web-' }, spec: { containers: [] } },
  dryRun: false,
};
const review = (req: unknown, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: req, ...extra });

describe('decodeAdmissionReview', () => {
  it('accepts a v1 review and keeps what the handler reads', () => {
    const r = decodeAdmissionReview(review(request));
    expect(r).toEqual({
      ok: true,
      request: {
        uid: request.uid,
        kind: request.kind,
        resource: request.resource,
        operation: 'CREATE',
        namespace: 'apps',
        object: request.object,
        dryRun: false,
      },
    });
  });

  it('defaults an omitted core group and accepts a null object on DELETE', () => {
    const r = decodeAdmissionReview(
      review({ ...request, kind: { version: 'v1', kind: 'Pod' }, operation: 'DELETE', object: null }),
    );
    expect(r.ok && r.request.kind.group).toBe('');
    expect(r.ok && r.request.object).toBeNull();
  });

  const malformed: [string, string, RegExp][] = [
    ['truncated JSON', review(request).slice(0, 40), /not JSON/],
    ['empty body', '', /not JSON/],
    ['a JSON array', '[]', /not a JSON object/],
    ['a JSON string', '"AdmissionReview"', /not a JSON object/],
    ['v1beta1', review(request).replace('admission.k8s.io/v1', 'admission.k8s.io/v1beta1'), /apiVersion/],
    ['wrong kind', review(request).replace('"AdmissionReview"', '"Pod"'), /kind must be AdmissionReview/],
    ['no request', review(undefined), /request is missing/],
    ['missing uid', review({ ...request, uid: undefined }), /uid/],
    ['empty uid', review({ ...request, uid: '' }), /uid/],
    ['numeric uid', review({ ...request, uid: 7 }), /uid/],
    ['kind not an object', review({ ...request, kind: 'Pod' }), /request.kind/],
    ['kind without version', review({ ...request, kind: { group: '', kind: 'Pod' } }), /request.kind/],
    ['resource missing', review({ ...request, resource: undefined }), /request.resource/],
    ['unknown operation', review({ ...request, operation: 'PATCH' }), /operation/],
    [
      'CREATE without object',
      review({ ...request, object: undefined }),
      /object must be an object for CREATE/,
    ],
    ['object is an array', review({ ...request, object: [] }), /object must be an object/],
    ['namespace not a string', review({ ...request, namespace: 3 }), /namespace/],
    ['dryRun not a boolean', review({ ...request, dryRun: 'yes' }), /dryRun/],
    [
      'a uid of 2,000 characters',
      review({ ...request, uid: 'u'.repeat(2000) }),
      /^request\.uid is longer than 1024 characters$/,
    ],
    [
      'a namespace of 2,000 characters',
      review({ ...request, namespace: 'n'.repeat(2000) }),
      /request\.namespace/,
    ],
    [
      'a kind of 2,000 characters',
      review({ ...request, kind: { group: '', version: 'v1', kind: 'K'.repeat(2000) } }),
      /request\.kind/,
    ],
    [
      'a pod whose annotations are a string',
      review({ ...request, object: { metadata: { annotations: 'x' } } }),
      /^request\.object\.metadata\.annotations: must be a map of strings, not a string$/,
    ],
    [
      'a pod (by resource alone) with an env var named by a number',
      review({
        ...request,
        kind: { group: '', version: 'v1', kind: 'Other' },
        object: { spec: { containers: [{ name: 'a', env: [{ name: 1 }] }] } },
      }),
      /^request\.object\.spec\.containers\[0\]\.env\[0\]\.name: must be a string, not a number$/,
    ],
  ];
  it('refuses a 1,000,000-character string as annotations or labels, body parse included, in under 100 ms', () => {
    for (const field of ['annotations', 'labels']) {
      const body = review({ ...request, object: { metadata: { [field]: 'a'.repeat(1_000_000) } } });
      const started = performance.now();
      const r = decodeAdmissionReview(body);
      expect(performance.now() - started).toBeLessThan(100);
      expect(r).toEqual({
        ok: false,
        reason: `request.object.metadata.${field}: must be a map of strings, not a string`,
      });
    }
  });

  it('checks the shape of pods only: other objects are passed on as they are', () => {
    const object = { metadata: { annotations: 'x' } };
    const secret = {
      ...request,
      kind: { group: '', version: 'v1', kind: 'Secret' },
      resource: { group: '', version: 'v1', resource: 'secrets' },
      object,
    };
    const r = decodeAdmissionReview(review(secret));
    expect(r.ok && r.request.object).toEqual(object);
  });

  it.each(malformed)('refuses %s with a reason', (_what, body, reason) => {
    const r = decodeAdmissionReview(body);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toMatch(reason);
  });
});

describe('encodeAdmissionReview', () => {
  it('echoes the uid and base64-encodes a JSON patch', () => {
    const patch = [{ op: 'add' as const, path: '/metadata/labels/x', value: 'y' }];
    const out = JSON.parse(
      encodeAdmissionReview({
        uid: 'u1',
        allowed: true,
        patch,
        warnings: ['w'],
        auditAnnotations: { 'skip-reason': 'HostNetwork' },
      }),
    );
    expect(out.apiVersion).toBe('admission.k8s.io/v1');
    expect(out.kind).toBe('AdmissionReview');
    expect(out.response.uid).toBe('u1');
    expect(out.response.allowed).toBe(true);
    expect(out.response.patchType).toBe('JSONPatch');
    expect(JSON.parse(Buffer.from(out.response.patch, 'base64').toString())).toEqual(patch);
    expect(out.response.warnings).toEqual(['w']);
    expect(out.response.auditAnnotations).toEqual({ 'skip-reason': 'HostNetwork' });
  });

  it('leaves out an empty patch, empty warnings and annotations, and carries a status', () => {
    const out = JSON.parse(
      encodeAdmissionReview({
        uid: 'u2',
        allowed: false,
        patch: [],
        warnings: [],
        auditAnnotations: {},
        status: { code: 500, message: 'boom' },
      }),
    );
    expect(out.response).toEqual({ uid: 'u2', allowed: false, status: { code: 500, message: 'boom' } });
  });
});
