import { describe, expect, it } from 'vitest';
import { applyIptables, IptablesApplyError, type ApplyEnv, type RunResult } from './iptables-apply.js';
import { resolveConfig } from '../iptables/config.js';

/** Records every command; answers from a table keyed by the command's first words. */
function fakeEnv(
  answers: Record<string, Partial<RunResult>>,
  ifInet6?: string,
): ApplyEnv & { calls: string[]; lines: string[] } {
  const calls: string[] = [];
  const lines: string[] = [];
  return {
    calls,
    lines,
    run: (argv) => {
      const cmd = argv.join(' ');
      calls.push(cmd);
      const key = Object.keys(answers).find((k) => cmd.startsWith(k));
      return { status: 0, stdout: '', stderr: '', ...(key ? answers[key] : {}) };
    },
    readIfInet6: () => ifInet6,
    out: (l) => lines.push(l),
  };
}

describe('applyIptables', () => {
  it('reports the backend, reads each table, then restores it', () => {
    const env = fakeEnv({ 'iptables --version': { stdout: 'iptables v1.8.9 (nf_tables)\n' } });
    applyIptables(resolveConfig({}), env);
    expect(env.calls).toEqual(['iptables --version', 'iptables-save -t nat', 'iptables-restore --noflush']);
    expect(env.lines[0]).toBe(
      'iptables backend: nf_tables (iptables v1.8.9); families ipv4 (no global IPv6 address detected)',
    );
  });

  it('adds ip6tables when the pod has a global IPv6 address', () => {
    const env = fakeEnv(
      {},
      'fd000000000000000000000000000002 04 40 00 80 eth0\n00000000000000000000000000000001 01 80 10 80 lo\n',
    );
    applyIptables(resolveConfig({}), env);
    expect(env.calls).toContain('ip6tables-restore --noflush');
  });

  it('names the failing rule and stops', () => {
    const env = fakeEnv({
      'iptables-restore': {
        status: 2,
        stderr:
          "iptables-restore v1.8.9 (nf_tables): Couldn't load target `REDIRECT'\n\nError occurred at line: 6\n",
      },
    });
    expect(() => applyIptables(resolveConfig({}), env)).toThrow(IptablesApplyError);
    expect(() => applyIptables(resolveConfig({}), env)).toThrow(
      'iptables-restore --noflush (ipv4 nat) failed at line 6: -A SIDECAR_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006 (exit 2)',
    );
  });

  it('TPROXY: skips an ip rule that exists, routes before the tables', () => {
    const env = fakeEnv({ 'ip -4 rule show': { stdout: '32765: from all fwmark 0x539 lookup 133\n' } });
    applyIptables(resolveConfig({ inboundInterceptionMode: 'TPROXY', ipv6: false }), env);
    expect(env.calls).not.toContain('ip -4 rule add fwmark 1337 lookup 133');
    expect(env.calls.indexOf('ip -4 route replace local 0.0.0.0/0 dev lo table 133')).toBeLessThan(
      env.calls.indexOf('iptables-restore --noflush'),
    );
  });

  it('--dry-run runs nothing', () => {
    const env = fakeEnv({});
    applyIptables(resolveConfig({ dryRun: true, inboundInterceptionMode: 'TPROXY' }), env);
    expect(env.calls).toEqual([]);
    expect(env.lines.join('\n')).toContain('ip -4 rule add fwmark 1337 lookup 133');
  });

  it('--cleanup skips IPv6 when the kernel has none, and restores only tables holding our chains', () => {
    const env = fakeEnv({
      'ip6tables-save': { status: 1, stderr: 'no IPv6' },
      'iptables-save -t nat': {
        stdout: '*nat\n:SIDECAR_OUTPUT - [0:0]\n-A OUTPUT -p tcp -j SIDECAR_OUTPUT\nCOMMIT\n',
      },
    });
    applyIptables(resolveConfig({ cleanup: true }), env);
    expect(env.calls.filter((c) => c.includes('restore'))).toEqual(['iptables-restore --noflush']);
    expect(env.calls.filter((c) => c.startsWith('ip6tables-save'))).toHaveLength(2);
  });
});
