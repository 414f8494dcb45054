/** What the API server said about a failed request, from any client-node error shape. */
export interface ApiFailure {
  /** HTTP status; 0 when the request never got an answer. */
  code: number;
  /** metav1.Status reason (NotFound, Conflict, Forbidden, Invalid, Expired…), if any. */
  reason: string;
  message: string;
}

function statusBody(body: unknown): { reason?: string; message?: string } {
  if (typeof body === 'string') {
    try {
      return JSON.parse(body) as { reason?: string; message?: string };
    } catch {
      return { message: body };
    }
  }
  return typeof body === 'object' && body !== null ? body : {};
}

export function apiFailure(err: unknown): ApiFailure {
  const e = err as { code?: unknown; statusCode?: unknown; body?: unknown; message?: unknown };
  const code = typeof e?.code === 'number' ? e.code : typeof e?.statusCode === 'number' ? e.statusCode : 0;
  const status = statusBody(e?.body);
  const message = status.message ?? (typeof e?.message === 'string' ? e.message : String(err));
  return { code, reason: status.reason ?? '', message };
}

export const isNotFound = (err: unknown): boolean => apiFailure(err).code === 404;
export const isConflict = (err: unknown): boolean => apiFailure(err).code === 409;
export const isForbidden = (err: unknown): boolean => apiFailure(err).code === 403;
export const isGone = (err: unknown): boolean => apiFailure(err).code === 410;
export const isInvalid = (err: unknown): boolean => apiFailure(err).code === 422;

/** An Error carrying the API failure, with a one-line message a human can act on. */
export class KubeError extends Error {
  readonly failure: ApiFailure;
  constructor(action: string, cause: unknown) {
    const failure = apiFailure(cause);
    super(`${action}: ${failure.code ? `${failure.code} ` : ''}${failure.message}`, { cause });
    this.name = 'KubeError';
    this.failure = failure;
  }
}
