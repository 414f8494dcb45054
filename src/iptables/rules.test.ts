import { describe, expect, it } from 'vitest';
import type { Family } from './address.js';
import { resolveConfig } from './config.js';
import { parseIptablesArgs } from './flags.js';
import { familyRules, hookLine } from './rules.js';

/** Flags → every line the tables would hold (rules, then hooks), keyed by table. */
function rulesFor(argv: string[], family: Family = 'ipv4'): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const t of familyRules(resolveConfig(parseIptablesArgs(argv)), family)) {
    out[t.table] = [...t.chains.map((c) => `:${c}`), ...t.rules, ...t.hooks.map(hookLine)];
  }
  return out;
}

const OWNER_V4 = [
  '-A SIDECAR_OUTPUT -o lo -s 127.0.0.6/32 -j RETURN',
  '-A SIDECAR_OUTPUT -o lo ! -d 127.0.0.1/32 -p tcp -m owner --uid-owner 1337 -j SIDECAR_IN_REDIRECT',
  '-A SIDECAR_OUTPUT -o lo -m owner ! --uid-owner 1337 -j RETURN',
  '-A SIDECAR_OUTPUT -m owner --uid-owner 1337 -j RETURN',
  '-A SIDECAR_OUTPUT -o lo ! -d 127.0.0.1/32 -p tcp -m owner --gid-owner 1337 -j SIDECAR_IN_REDIRECT',
  '-A SIDECAR_OUTPUT -o lo -m owner ! --gid-owner 1337 -j RETURN',
  '-A SIDECAR_OUTPUT -m owner --gid-owner 1337 -j RETURN',
  '-A SIDECAR_OUTPUT -d 127.0.0.1/32 -j RETURN',
];

describe('rules: flags → iptables lines', () => {
  it('REDIRECT with everything captured except the health and metrics ports', () => {
    expect(rulesFor(['-m', 'REDIRECT', '-i', '*', '-b', '*', '-d', '15020,15021,15090'])).toEqual({
      nat: [
        ':SIDECAR_INBOUND',
        ':SIDECAR_IN_REDIRECT',
        ':SIDECAR_OUTPUT',
        ':SIDECAR_REDIRECT',
        '-A SIDECAR_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006',
        '-A SIDECAR_REDIRECT -p tcp -j REDIRECT --to-ports 15001',
        '-A SIDECAR_INBOUND -p tcp --dport 15020 -j RETURN',
        '-A SIDECAR_INBOUND -p tcp --dport 15021 -j RETURN',
        '-A SIDECAR_INBOUND -p tcp --dport 15090 -j RETURN',
        '-A SIDECAR_INBOUND -p tcp -j SIDECAR_IN_REDIRECT',
        ...OWNER_V4,
        '-A SIDECAR_OUTPUT -j SIDECAR_REDIRECT',
        '-A PREROUTING -p tcp -j SIDECAR_INBOUND',
        '-A OUTPUT -p tcp -j SIDECAR_OUTPUT',
      ],
    });
  });

  it('uses the given ports, UID and GID', () => {
    const nat = rulesFor(['-p', '16001', '-z', '16006', '-u', '2000', '-g', '3000']).nat ?? [];
    expect(nat).toContain('-A SIDECAR_REDIRECT -p tcp -j REDIRECT --to-ports 16001');
    expect(nat).toContain('-A SIDECAR_IN_REDIRECT -p tcp -j REDIRECT --to-ports 16006');
    expect(nat).toContain('-A SIDECAR_OUTPUT -m owner --uid-owner 2000 -j RETURN');
    expect(nat).toContain('-A SIDECAR_OUTPUT -m owner --gid-owner 3000 -j RETURN');
  });

  it('captures only listed inbound ports, without RETURN lines for excluded ones', () => {
    const nat = rulesFor(['-b', '9080,9443', '-d', '15020']).nat ?? [];
    expect(nat.filter((l) => l.startsWith('-A SIDECAR_INBOUND'))).toEqual([
      '-A SIDECAR_INBOUND -p tcp --dport 9080 -j SIDECAR_IN_REDIRECT',
      '-A SIDECAR_INBOUND -p tcp --dport 9443 -j SIDECAR_IN_REDIRECT',
    ]);
  });

  it('captures no inbound port with an empty include list', () => {
    const nat = rulesFor(['-b', '']).nat ?? [];
    expect(nat.filter((l) => l.startsWith('-A SIDECAR_INBOUND'))).toEqual([]);
  });

  it('returns excluded CIDRs and outbound ports, and redirects only included CIDRs', () => {
    const nat = rulesFor(['-i', '10.0.0.0/8,fd00::/8', '-x', '10.1.0.0/16', '-o', '5432,6379']).nat ?? [];
    const output = nat.filter((l) => l.startsWith('-A SIDECAR_OUTPUT'));
    expect(output.slice(0, 2)).toEqual([
      '-A SIDECAR_OUTPUT -p tcp --dport 5432 -j RETURN',
      '-A SIDECAR_OUTPUT -p tcp --dport 6379 -j RETURN',
    ]);
    expect(output.slice(-2)).toEqual([
      '-A SIDECAR_OUTPUT -d 10.1.0.0/16 -j RETURN',
      '-A SIDECAR_OUTPUT -d 10.0.0.0/8 -j SIDECAR_REDIRECT',
    ]);
    expect(nat.join('\n')).not.toContain('fd00::/8');
  });

  it('captures no outbound traffic with an empty include list', () => {
    const nat = rulesFor(['-i', '']).nat ?? [];
    expect(nat.filter((l) => l.includes('-j SIDECAR_REDIRECT'))).toEqual([]);
  });

  it('IPv6 mirrors IPv4 with ::1, ::6 and only IPv6 CIDRs', () => {
    const v4 = rulesFor(['-x', '10.0.0.0/8,fd00::/8', '-d', '15020']).nat ?? [];
    const v6 = rulesFor(['-x', '10.0.0.0/8,fd00::/8', '-d', '15020'], 'ipv6').nat ?? [];
    const mirrored = v4.map((l) =>
      l
        .replace('127.0.0.1/32', '::1/128')
        .replace('127.0.0.6/32', '::6/128')
        .replace('10.0.0.0/8', 'fd00::/8'),
    );
    expect(v6).toEqual(mirrored);
    expect(v6).toContain('-A SIDECAR_OUTPUT -d ::1/128 -j RETURN');
  });

  it('TPROXY: inbound in mangle with mark and connmark, outbound still through nat', () => {
    const r = rulesFor(['-m', 'TPROXY', '-b', '*', '-d', '15020', '-z', '15006', '-t', '1337']);
    expect(r.mangle).toEqual([
      ':SIDECAR_INBOUND',
      ':SIDECAR_DIVERT',
      ':SIDECAR_TPROXY',
      ':SIDECAR_RESTORE_MARK',
      '-A SIDECAR_DIVERT -j MARK --set-mark 1337',
      '-A SIDECAR_DIVERT -j ACCEPT',
      '-A SIDECAR_TPROXY ! -d 127.0.0.1/32 -p tcp -j TPROXY --on-port 15006 --tproxy-mark 1337/0xffffffff',
      '-A SIDECAR_INBOUND -p tcp -m mark --mark 1337 -j CONNMARK --save-mark',
      '-A SIDECAR_INBOUND -p tcp -m mark --mark 1337 -j RETURN',
      '-A SIDECAR_INBOUND -p tcp --dport 15020 -j RETURN',
      '-A SIDECAR_INBOUND -p tcp -m conntrack --ctstate RELATED,ESTABLISHED -j SIDECAR_DIVERT',
      '-A SIDECAR_INBOUND -p tcp -j SIDECAR_TPROXY',
      '-A SIDECAR_RESTORE_MARK -p tcp -m connmark --mark 1337 -j CONNMARK --restore-mark',
      '-A PREROUTING -p tcp -j SIDECAR_INBOUND',
      '-A OUTPUT -p tcp -j SIDECAR_RESTORE_MARK',
    ]);
    const nat = r.nat ?? [];
    expect(nat).not.toContain('-A PREROUTING -p tcp -j SIDECAR_INBOUND');
    expect(nat).not.toContain(':SIDECAR_INBOUND');
    expect(nat).toContain('-A SIDECAR_OUTPUT -p tcp -m mark --mark 1337 -j RETURN');
    expect(nat).toContain('-A SIDECAR_OUTPUT -j SIDECAR_REDIRECT');
  });

  it('TPROXY with listed ports diverts and proxies only those', () => {
    const mangle = rulesFor(['-m', 'TPROXY', '-b', '9080'], 'ipv6').mangle ?? [];
    expect(mangle).toContain(
      '-A SIDECAR_INBOUND -p tcp --dport 9080 -m conntrack --ctstate RELATED,ESTABLISHED -j SIDECAR_DIVERT',
    );
    expect(mangle).toContain('-A SIDECAR_INBOUND -p tcp --dport 9080 -j SIDECAR_TPROXY');
    expect(mangle).toContain(
      '-A SIDECAR_TPROXY ! -d ::1/128 -p tcp -j TPROXY --on-port 15006 --tproxy-mark 1337/0xffffffff',
    );
  });
});
