import { docsAnchor, type Code } from './codes.js';

/** The outcome of one doctor check: what was looked at, how it stands, why, and what to do. */
export type CheckStatus = 'pass' | 'warn' | 'fail';

export interface CheckResult {
  /** Stable, kebab-case (`webhook-ca-bundle`), with the subject after a colon (`…:mesh-default`). */
  name: string;
  status: CheckStatus;
  reason: string;
  /** What to do about a warn or fail; absent when there is nothing to do. */
  fix?: string;
  /** A warn's or fail's stable code (see codes.ts); absent on a pass. */
  code?: Code;
  /** Where the code is explained: docs/doctor.md#<code>. */
  docs?: string;
}

export const pass = (name: string, reason: string): CheckResult => ({ name, status: 'pass', reason });

function flagged(
  status: 'warn' | 'fail',
  code: Code,
  name: string,
  reason: string,
  fix?: string,
): CheckResult {
  const out: CheckResult = { name, status, reason };
  if (fix !== undefined) out.fix = fix;
  out.code = code;
  out.docs = docsAnchor(code);
  return out;
}

export const warn = (code: Code, name: string, reason: string, fix?: string): CheckResult =>
  flagged('warn', code, name, reason, fix);

export const fail = (code: Code, name: string, reason: string, fix?: string): CheckResult =>
  flagged('fail', code, name, reason, fix);

const RANK: Record<CheckStatus, number> = { pass: 0, warn: 1, fail: 2 };

/** The worst status; pass for an empty list. */
export function worst(results: readonly CheckResult[]): CheckStatus {
  let out: CheckStatus = 'pass';
  for (const r of results) if (RANK[r.status] > RANK[out]) out = r.status;
  return out;
}

/** Exit code 0, 1 or 2 for pass, warn or fail. */
export function exitCodeOf(results: readonly CheckResult[]): number {
  return RANK[worst(results)];
}
