/**
 * Whether `actual` holds everything `desired` says: objects may carry extra keys (defaults the API
 * server filled in, fields of other managers), arrays must match element for element. Used to skip
 * server-side applies that would change nothing.
 */
export function containsDesired(actual: unknown, desired: unknown): boolean {
  if (desired === undefined) return true;
  if (desired === null || typeof desired !== 'object') return actual === desired;
  if (Array.isArray(desired)) {
    return (
      Array.isArray(actual) &&
      actual.length === desired.length &&
      desired.every((d, i) => containsDesired(actual[i], d))
    );
  }
  if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return false;
  const a = actual as Record<string, unknown>;
  return Object.entries(desired as Record<string, unknown>).every(([k, v]) => containsDesired(a[k], v));
}
