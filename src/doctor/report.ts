import { exitCodeOf, worst, type CheckResult, type CheckStatus } from './check.js';

const COLOURS: Record<CheckStatus, string> = { pass: '\x1b[32m', warn: '\x1b[33m', fail: '\x1b[31m' };
const DIM = '\x1b[2m';
const RESET = '\x1b[0m';

const painter =
  (colour: boolean) =>
  (s: string, c: string): string =>
    colour && c !== '' ? `${c}${s}${RESET}` : s;

/**
 * One check's block: status, name, reason and, for a warn or fail, its code; then the fix and where
 * the code is explained, indented. Written as soon as the check has run, so it stands alone.
 */
export function formatResult(r: CheckResult, colour: boolean): string {
  const paint = painter(colour);
  const code = r.code !== undefined ? ` [${r.code}]` : '';
  const lines = [
    `${paint(r.status.toUpperCase().padEnd(4), COLOURS[r.status])}  ${r.name}: ${r.reason}${code}`,
  ];
  if (r.fix !== undefined) lines.push(`      ${paint(`fix: ${r.fix}`, colour ? DIM : '')}`);
  if (r.docs !== undefined) lines.push(`      ${paint(`see: ${r.docs}`, colour ? DIM : '')}`);
  return lines.join('\n') + '\n';
}

/** The last line: the worst status and the counts. */
export function formatSummary(results: readonly CheckResult[], colour: boolean): string {
  const paint = painter(colour);
  const count = (s: CheckStatus): number => results.filter((r) => r.status === s).length;
  const overall = worst(results);
  return `\n${paint(overall.toUpperCase(), COLOURS[overall])}: ${count('pass')} passed, ${count('warn')} warning(s), ${count('fail')} failed\n`;
}

/** One block per check, then the summary. */
export function formatText(results: readonly CheckResult[], colour: boolean): string {
  return results.map((r) => formatResult(r, colour)).join('') + formatSummary(results, colour);
}

export function formatJson(results: readonly CheckResult[]): string {
  return (
    JSON.stringify({ status: worst(results), exitCode: exitCodeOf(results), checks: results }, null, 2) + '\n'
  );
}
