import { describe, expect, it } from 'vitest';
import { fail, pass } from './check.js';
import { formatJson, formatResult, formatSummary, formatText } from './report.js';

describe('the report', () => {
  const bad = fail('SO121', 'webhook-ca-bundle:mesh', 'does not verify', 'let the operator re-sync it');
  const good = pass('api-server-version', 'Kubernetes v1.33.1');

  it('writes one block per result, the code after the reason, the fix and the anchor under it', () => {
    expect(formatResult(bad, false)).toBe(
      'FAIL  webhook-ca-bundle:mesh: does not verify [SO121]\n' +
        '      fix: let the operator re-sync it\n' +
        '      see: docs/doctor.md#so121\n',
    );
    expect(formatResult(good, false)).toBe('PASS  api-server-version: Kubernetes v1.33.1\n');
  });

  it('streams into the same text as the whole report', () => {
    expect(formatResult(good, false) + formatResult(bad, false) + formatSummary([good, bad], false)).toBe(
      formatText([good, bad], false),
    );
    expect(formatSummary([good, bad], false)).toBe('\nFAIL: 1 passed, 0 warning(s), 1 failed\n');
  });

  it('carries the code and the anchor in JSON', () => {
    const json = JSON.parse(formatJson([bad])) as { checks: { code: string; docs: string }[] };
    expect(json.checks[0]).toMatchObject({ code: 'SO121', docs: 'docs/doctor.md#so121' });
  });
});
