/** The outcome of one doctor check: what was looked at, how it stands, why, and what to do. */
export type CheckStatus = 'pass' | 'warn' | 'fail';

export interface CheckResult {
  /** Stable, kebab-case (`webhook-ca-bundle`), with the subject after a colon (`…:mesh-default`). */
  name: string;
  status: CheckStatus;
  reason: string;
  /** What to do about a warn or fail; absent when there is nothing to do. */
  fix?: string;
}

export const pass = (name: string, reason: string): CheckResult => ({ name, status: 'pass', reason });

export const warn = (name: string, reason: string, fix?: string): CheckResult =>
  fix === undefined ? { name, status: 'warn', reason } : { name, status: 'warn', reason, fix };

export const fail = (name: string, reason: string, fix?: string): CheckResult =>
  fix === undefined ? { name, status: 'fail', reason } : { name, status: 'fail', reason, fix };

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
