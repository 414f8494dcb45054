import { createHash } from 'node:crypto';

/**
 * JSON with object keys sorted at every level, so that two values equal in meaning serialise to the
 * same bytes whatever order their keys were built in. Array order is kept: it carries meaning
 * (container args, CIDR lists).
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value))
    return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** Length of a revision: 10 hex digits (40 bits) is plenty to tell a policy's versions apart. */
export const REVISION_LENGTH = 10;

/** The revision of some content: a truncated sha256 of its canonical JSON. */
export function contentHash(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, REVISION_LENGTH);
}
