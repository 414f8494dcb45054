import { exitCodeOf, worst, type CheckResult, type CheckStatus } from './check.js';

const COLOURS: Record<CheckStatus, string> = { pass: '\x1b[32m', warn: '\x1b[33m', fail: '\x1b[31m' };
const DIM = '\x1b[2m';
const RESET = '\x1b[0m';

/** One block per check: status, name, reason, then the fix indented; a summary line last. */
export function formatText(results: readonly CheckResult[], colour: boolean): string {
  const paint = (s: string, c: string): string => (colour ? `${c}${s}${RESET}` : s);
  const lines: string[] = [];
  for (const r of results) {
    lines.push(`${paint(r.status.toUpperCase().padEnd(4), COLOURS[r.status])}  ${r.name}: ${r.reason}`);
    if (r.fix !== undefined) lines.push(`      ${paint(`fix: ${r.fix}`, colour ? DIM : '')}`);
  }
  const count = (s: CheckStatus): number => results.filter((r) => r.status === s).length;
  const overall = worst(results);
  lines.push(
    '',
    `${paint(overall.toUpperCase(), COLOURS[overall])}: ${count('pass')} passed, ${count('warn')} warning(s), ${count('fail')} failed`,
  );
  return lines.join('\n') + '\n';
}

export function formatJson(results: readonly CheckResult[]): string {
  return (
    JSON.stringify({ status: worst(results), exitCode: exitCodeOf(results), checks: results }, null, 2) + '\n'
  );
}
