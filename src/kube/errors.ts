/** What the API server said about a failed request, from any error shape we throw or receive. */
export interface ApiFailure {
  /** HTTP status; 0 when the request never got an answer. */
  code: number;
  /** metav1.Status reason (NotFound, Conflict, Forbidden, Invalid, Expired…); from the code when the body has none. */
  reason: string;
  message: string;
}

/**
 * metav1.StatusReason for an answer whose body names none (a proxy's plain-text 503, client-node's
 * bodiless 401), as client-go's NewGenericServerResponse assigns them.
 */
const REASON_BY_CODE: Readonly<Record<number, string>> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  406: 'NotAcceptable',
  409: 'Conflict',
  410: 'Gone',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

/** Reasons whose meaning is settled: a predicate goes by them, not by the code they came with. */
const KNOWN_REASONS = new Set([
  ...Object.values(REASON_BY_CODE),
  'AlreadyExists',
  'Expired',
  'ServerTimeout',
]);

interface StatusLike {
  code?: unknown;
  reason?: unknown;
  message?: unknown;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** A metav1.Status, from an object or its JSON text; a text that is not JSON is the message. */
function statusBody(body: unknown): StatusLike {
  if (typeof body === 'string') {
    try {
      const parsed: unknown = JSON.parse(body);
      return isRecord(parsed) ? parsed : {};
    } catch {
      return body.trim() ? { message: body.trim() } : {};
    }
  }
  return isRecord(body) ? body : {};
}

const httpCode = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isInteger(v) && v >= 100 && v <= 599 ? v : undefined;

const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** The first line of a message: client-node's ApiException packs headers and body into the rest. */
const firstLine = (s: string): string => s.split('\n', 1)[0] ?? s;

/**
 * Reads the failure from every shape that reaches us: our KubeError; client-node's ApiException
 * (`code`, body a metav1.Status as text or object, or none); its watch errors (`statusCode`); a
 * metav1.Status itself (a watch ERROR event); an Error whose `cause` is one of these. Anything else
 * (a refused connection, whose `code` is a string such as ECONNREFUSED) has code 0.
 */
export function apiFailure(err: unknown, depth = 0): ApiFailure {
  if (err instanceof KubeError) return err.failure;
  const e: Record<string, unknown> = isRecord(err) ? err : {};
  const status = statusBody(e.body);
  const code = httpCode(e.code) ?? httpCode(e.statusCode) ?? httpCode(status.code);
  if (code === undefined) return unanswered(err, e, depth);
  const reason = text(status.reason) ?? text(e.reason) ?? REASON_BY_CODE[code] ?? '';
  // ApiException's own message is "HTTP-Code: …" followed by headers: the reason says more.
  const own = text(e.message);
  const fromError = own && !own.startsWith('HTTP-Code:') ? firstLine(own) : undefined;
  return { code, reason, message: text(status.message) ?? fromError ?? reason };
}

/** No status code on the error itself: one in its causes, else a request that got no answer. */
function unanswered(err: unknown, e: Record<string, unknown>, depth: number): ApiFailure {
  const inner = e.cause !== undefined && depth < 8 ? apiFailure(e.cause, depth + 1) : undefined;
  if (inner?.code) return inner;
  const message =
    text(e.message) ?? (err instanceof Error ? err.name : isRecord(err) ? 'unknown error' : String(err));
  // undici's "fetch failed" says why only in its cause (connect ECONNREFUSED …).
  const why = inner && inner.message !== message ? `: ${inner.message}` : '';
  return { code: 0, reason: '', message: `${message}${why}` };
}

/**
 * client-go's rule: a failure is of a kind when the server named that reason, or when it named no
 * reason we know and answered with the kind's code. So a 409 AlreadyExists is not a Conflict.
 */
function isKind(err: unknown, reasons: readonly string[], code: number): boolean {
  const f = apiFailure(err);
  if (reasons.includes(f.reason)) return true;
  return f.code === code && !KNOWN_REASONS.has(f.reason);
}

export const isNotFound = (err: unknown): boolean => isKind(err, ['NotFound'], 404);
/** An optimistic-concurrency failure (a stale resourceVersion): re-read and try again. */
export const isConflict = (err: unknown): boolean => isKind(err, ['Conflict'], 409);
export const isAlreadyExists = (err: unknown): boolean => isKind(err, ['AlreadyExists'], 409);
export const isForbidden = (err: unknown): boolean => isKind(err, ['Forbidden'], 403);
/** A resourceVersion too old to watch or list from (410, Expired or Gone): relist. */
export const isGone = (err: unknown): boolean => isKind(err, ['Gone', 'Expired'], 410);
export const isInvalid = (err: unknown): boolean => isKind(err, ['Invalid'], 422);

/** `404 NotFound: policies "x" not found`, or the bare message when the server never answered. */
export function describeFailure(f: ApiFailure): string {
  if (!f.code) return f.message;
  return f.message === f.reason ? `${f.code} ${f.reason}` : `${f.code} ${f.reason}: ${f.message}`;
}

/**
 * The one error type of our Kubernetes edge: the failure as data (code, reason, the server's
 * message) and a one-line message saying what was attempted.
 */
export class KubeError extends Error {
  readonly code: number;
  readonly reason: string;
  readonly failure: ApiFailure;
  /** The answer's body as received, when there was one (a metav1.Status with its causes). */
  readonly body: string | undefined;

  constructor(action: string, failure: ApiFailure, opts: { cause?: unknown; body?: string } = {}) {
    super(`${action}: ${failure.code ? `${failure.code} ` : ''}${failure.message}`, { cause: opts.cause });
    this.name = 'KubeError';
    this.code = failure.code;
    this.reason = failure.reason;
    this.failure = failure;
    this.body = opts.body;
  }

  /** Wraps whatever a client threw, keeping it as the cause. */
  static wrap(action: string, err: unknown): KubeError {
    return new KubeError(action, apiFailure(err), { cause: err });
  }

  /** A non-2xx answer, from its status and body text. */
  static fromResponse(action: string, code: number, body: string): KubeError {
    return new KubeError(action, apiFailure({ code, body }), { body });
  }
}
