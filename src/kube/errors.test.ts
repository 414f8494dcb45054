import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  apiFailure,
  describeFailure,
  isAlreadyExists,
  isConflict,
  isForbidden,
  isGone,
  isInvalid,
  isNotFound,
  KubeError,
} from './errors.js';

/** A metav1.Status as the API server sends it. */
const status = (code: number, reason: string, message: string) => ({
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message,
  reason,
  code,
});

interface Shape {
  name: string;
  /** False when the shape has room for a code only: the reason is then the code's own. */
  carriesReason: boolean;
  make: (code: number, reason: string, message: string) => unknown;
}

/** Every error shape our code throws or receives from client-node and the API server. */
const shapes: Shape[] = [
  {
    name: 'KubeError from requestJson (status and body text)',
    carriesReason: true,
    make: (c, r, m) => KubeError.fromResponse('GET /x', c, JSON.stringify(status(c, r, m))),
  },
  {
    name: 'KubeError from applyStatus/jsonPatch (wrapping a KubeError)',
    carriesReason: true,
    make: (c, r, m) =>
      KubeError.wrap(
        'apply status of X',
        KubeError.fromResponse('PATCH /x', c, JSON.stringify(status(c, r, m))),
      ),
  },
  {
    name: 'KubeError from applyObject (wrapping an ApiException)',
    carriesReason: true,
    make: (c, r, m) =>
      KubeError.wrap(
        'apply X',
        new ApiException(c, 'Unsuccessful HTTP Request', JSON.stringify(status(c, r, m)), {}),
      ),
  },
  {
    name: 'ApiException with a Status as text (client-node 1.x/2.x)',
    carriesReason: true,
    make: (c, r, m) => new ApiException(c, 'Unknown API Status Code!', JSON.stringify(status(c, r, m)), {}),
  },
  {
    name: 'ApiException with a Status object',
    carriesReason: true,
    make: (c, r, m) => new ApiException(c, 'Unknown API Status Code!', status(c, r, m), {}),
  },
  {
    name: 'ApiException with a body that is not JSON (a proxy in between)',
    carriesReason: false,
    make: (c, _r, m) => new ApiException(c, 'Unknown API Status Code!', m, {}),
  },
  {
    name: 'ApiException without a body',
    carriesReason: false,
    make: (c) => new ApiException(c, 'Unauthorized', undefined, {}),
  },
  {
    name: 'client-node Watch error (statusCode)',
    carriesReason: false,
    make: (c, _r, m) => Object.assign(new Error(m), { statusCode: c }),
  },
  {
    name: 'a metav1.Status itself (a watch ERROR event)',
    carriesReason: true,
    make: (c, r, m) => status(c, r, m),
  },
  {
    name: 'an Error whose cause is an ApiException',
    carriesReason: true,
    make: (c, r, m) =>
      new Error('read lease', { cause: new ApiException(c, 'x', JSON.stringify(status(c, r, m)), {}) }),
  },
];

const predicates = {
  isNotFound,
  isConflict,
  isAlreadyExists,
  isForbidden,
  isGone,
  isInvalid,
};
type Predicate = keyof typeof predicates;

/** The reason a code stands for when nothing else says (client-go's NewGenericServerResponse). */
const REASON_OF: Record<number, string> = {
  403: 'Forbidden',
  404: 'NotFound',
  409: 'Conflict',
  410: 'Gone',
  422: 'Invalid',
  500: 'InternalError',
};

/** Which predicate holds for an answer with this reason (and code). */
const failures: { code: number; reason: string; holds: Predicate | undefined }[] = [
  { code: 404, reason: 'NotFound', holds: 'isNotFound' },
  { code: 409, reason: 'Conflict', holds: 'isConflict' },
  // client-go: a create that lost the race is not a Conflict, though both are 409.
  { code: 409, reason: 'AlreadyExists', holds: 'isAlreadyExists' },
  { code: 403, reason: 'Forbidden', holds: 'isForbidden' },
  { code: 410, reason: 'Expired', holds: 'isGone' },
  { code: 410, reason: 'Gone', holds: 'isGone' },
  { code: 422, reason: 'Invalid', holds: 'isInvalid' },
  { code: 500, reason: 'InternalError', holds: undefined },
  // A reason this client does not know: the code decides.
  { code: 404, reason: 'NotFoundSomewhereNew', holds: 'isNotFound' },
];

const expectedHolds = (shape: Shape, f: (typeof failures)[number]): Predicate | undefined => {
  if (shape.carriesReason) return f.holds;
  return failures.find((x) => x.code === f.code && x.reason === REASON_OF[f.code])?.holds;
};

describe('error predicates, each over each error shape', () => {
  const rows = shapes.flatMap((shape) =>
    failures.map((f) => [shape.name, `${f.code} ${f.reason}`, shape, f] as const),
  );
  it.each(rows)('%s: %s', (_s, _f, shape, f) => {
    const err = shape.make(f.code, f.reason, `the server's words for ${f.reason}`);
    const want = expectedHolds(shape, f);
    const got = Object.fromEntries(Object.entries(predicates).map(([n, p]) => [n, p(err)]));
    const expected = Object.fromEntries(Object.keys(predicates).map((n) => [n, n === want]));
    expect(got).toEqual(expected);
    expect(apiFailure(err).code).toBe(f.code);
    expect(apiFailure(err).reason).toBe(shape.carriesReason ? f.reason : REASON_OF[f.code]);
  });

  it('hold for none of the failures that never got an answer', () => {
    const refused = new TypeError('fetch failed', {
      cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' }),
    });
    const aborted = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
    for (const err of [refused, aborted, new Error('boom'), undefined, null, 'a string', 404, {}]) {
      for (const [name, p] of Object.entries(predicates))
        expect(p(err), `${name}(${JSON.stringify(err)})`).toBe(false);
      expect(apiFailure(err).code).toBe(0);
    }
    expect(apiFailure(refused).message).toBe('fetch failed: connect ECONNREFUSED 127.0.0.1:6443');
  });
});

describe('apiFailure', () => {
  it("keeps the server's message, in one line", () => {
    for (const shape of shapes.filter((s) => s.carriesReason)) {
      const f = apiFailure(shape.make(404, 'NotFound', 'sidecarpolicies.sidecar.dev "mesh" not found'));
      expect(f, shape.name).toEqual({
        code: 404,
        reason: 'NotFound',
        message: 'sidecarpolicies.sidecar.dev "mesh" not found',
      });
    }
  });

  it('falls back to the reason, never to client-node’s multi-line message', () => {
    expect(apiFailure(new ApiException(401, 'Unauthorized', undefined, {}))).toEqual({
      code: 401,
      reason: 'Unauthorized',
      message: 'Unauthorized',
    });
    expect(apiFailure(new ApiException(503, 'x', 'upstream connect error\n', {}))).toEqual({
      code: 503,
      reason: 'ServiceUnavailable',
      message: 'upstream connect error',
    });
  });
});

describe('KubeError', () => {
  it('carries code and reason as data, and says what was attempted in one line', () => {
    const err = KubeError.wrap(
      'apply status of SidecarPolicy mesh',
      KubeError.fromResponse('PATCH /apis/x', 404, JSON.stringify(status(404, 'NotFound', 'not found'))),
    );
    expect(err).toMatchObject({ code: 404, reason: 'NotFound', name: 'KubeError' });
    expect(err.failure).toEqual({ code: 404, reason: 'NotFound', message: 'not found' });
    expect(err.message).toBe('apply status of SidecarPolicy mesh: 404 not found');
    expect(err.cause).toBeInstanceOf(KubeError);
  });

  it('keeps the body of the answer (the causes of an Invalid)', () => {
    const body = JSON.stringify({
      ...status(422, 'Invalid', 'bad'),
      details: { causes: [{ field: 'spec.x' }] },
    });
    expect(JSON.parse(KubeError.fromResponse('POST /x', 422, body).body ?? '')).toMatchObject({
      details: { causes: [{ field: 'spec.x' }] },
    });
  });
});

describe('describeFailure', () => {
  it('reads as code, reason and message', () => {
    expect(describeFailure({ code: 403, reason: 'Forbidden', message: 'namespaces "a" is forbidden' })).toBe(
      '403 Forbidden: namespaces "a" is forbidden',
    );
    expect(describeFailure({ code: 404, reason: 'NotFound', message: 'NotFound' })).toBe('404 NotFound');
    expect(describeFailure({ code: 0, reason: '', message: 'fetch failed' })).toBe('fetch failed');
  });
});
