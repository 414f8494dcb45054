import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSave } from '../src/iptables/saved.js';
import {
  APP_UID,
  PROXY_UID,
  PYTHON,
  TCP_PY,
  Topology,
  asUser,
  connect,
  connectFrom,
  must,
  sh,
  type Run,
} from './iptables/netns.js';

const ROOT = join(import.meta.dirname, '..');
const MAIN = join(ROOT, 'dist', 'cli', 'main.js');

// Root, the iptables tools and a fresh build of the CLI: the test runs the real command.
beforeAll(() => {
  if (process.getuid?.() !== 0)
    throw new Error('test/iptables.test.ts needs root (network namespaces, iptables)');
  must(['bash', join(ROOT, 'hack', 'system-deps.sh')]);
  sh(
    [
      process.execPath,
      join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
      '-p',
      join(ROOT, 'tsconfig.build.json'),
    ],
    {
      timeoutMs: 300_000,
    },
  );
  if (!existsSync(MAIN)) throw new Error(`build did not produce ${MAIN}`);
});

function cli(t: Topology, args: string[]): Run {
  return t.exec(t.pod, [process.execPath, MAIN, 'iptables', ...args]);
}

function saveOf(t: Topology, tool: 'iptables-save' | 'ip6tables-save'): string {
  return must(['ip', 'netns', 'exec', t.pod, tool]).stdout;
}

/** Every rule line that mentions one of our chains, so copies show up as duplicates. */
function ourLines(save: string): string[] {
  return save.split('\n').filter((l) => l.startsWith('-A ') && l.includes('SIDECAR_'));
}

function hookCount(save: string, table: 'nat' | 'mangle', line: string): number {
  return parseSave(save)[table]?.rules.filter((r) => r === line).length ?? 0;
}

const PROXY = (port: number, ...extra: string[]): string[] =>
  asUser(
    PROXY_UID,
    [PYTHON, TCP_PY, 'proxy', `proxy-${port}`, String(port), ...extra],
    extra.includes('--transparent') ? ['net_admin'] : [],
  );

/** The flags both suites apply: capture everything except the peer's subnet and `excludeInbound`. */
function captureArgs(mode: 'REDIRECT' | 'TPROXY', excludeInbound: string, ...extra: string[]): string[] {
  return [
    ...['-p', '15001', '-z', '15006', '-u', String(PROXY_UID), '-m', mode],
    ...['-i', '*', '-x', '198.18.1.0/24,fd00:99:1::/64', '-b', '*', '-d', excludeInbound],
    ...extra,
  ];
}

describe('iptables REDIRECT in a pod-like network namespace (IPv4 and IPv6)', () => {
  const t = new Topology();
  const args = captureArgs('REDIRECT', '15020,15021,15090,9091');

  beforeAll(async () => {
    t.create();
    await t.start(t.peer, [PYTHON, TCP_PY, 'serve', 'peer', '8080']);
    await t.start(t.pod, asUser(APP_UID, [PYTHON, TCP_PY, 'serve', 'app', '9080', '9091']));
    await t.start(t.pod, PROXY(15001, '--forward'));
    await t.start(t.pod, PROXY(15006));
  });
  afterAll(() => t.destroy());

  it('connects directly before any rule exists', () => {
    expect(connect(t, t.pod, APP_UID, '198.18.0.1', 8080)).toMatchObject({ who: 'peer' });
  });

  it('applies with the real command, reports the backend and detects IPv6', () => {
    const r = cli(t, args);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/iptables backend: (nf_tables|legacy)/);
    expect(r.stdout).toContain('global IPv6 address detected');
    expect(r.stdout).toContain('applied ipv6 nat');
  });

  for (const [family, peer, pod, excluded, passthrough] of [
    ['IPv4', '198.18.0.1', '198.18.0.2', '198.18.1.1', '127.0.0.6'],
    ['IPv6', 'fd00:99::1', 'fd00:99::2', 'fd00:99:1::1', '::6'],
  ] as const) {
    it(`${family}: an app connection to the peer reaches the proxy on 15001 with its original destination, and the proxy reaches the peer`, () => {
      const answer = connect(t, t.pod, APP_UID, peer, 8080);
      expect(answer).toMatchObject({
        who: 'proxy-15001',
        uid: PROXY_UID,
        original: { ip: peer, port: 8080 },
      });
      // The proxy's own upstream connection was not captured again: the peer answered it, from the pod.
      expect(answer.upstream).toMatchObject({ who: 'peer', from: { ip: pod } });
    });

    it(`${family}: the proxy UID's own connections are not redirected`, () => {
      expect(connect(t, t.pod, PROXY_UID, peer, 8080)).toMatchObject({ who: 'peer', local: { port: 8080 } });
    });

    it(`${family}: excluded CIDRs bypass the proxy`, () => {
      expect(connect(t, t.pod, APP_UID, excluded, 8080)).toMatchObject({
        who: 'peer',
        local: { ip: excluded },
      });
    });

    it(`${family}: an inbound connection to an app port arrives at 15006 with the original port`, () => {
      expect(connect(t, t.peer, 0, pod, 9080)).toMatchObject({
        who: 'proxy-15006',
        original: { ip: pod, port: 9080 },
        from: { ip: peer },
      });
    });

    it(`${family}: an excluded inbound port reaches the app directly`, () => {
      expect(connect(t, t.peer, 0, pod, 9091)).toMatchObject({ who: 'app', local: { port: 9091 } });
    });

    it(`${family}: the proxy's inbound passthrough, from ${passthrough}, reaches the app without being captured again`, () => {
      // What the rendered Envoy bootstrap does (upstream_bind_config); ::6 is put on lo by the command.
      expect(connectFrom(t, t.pod, PROXY_UID, { host: pod, port: 9080 }, passthrough)).toMatchObject({
        who: 'app',
        local: { port: 9080 },
        from: { ip: passthrough },
      });
    });

    it(`${family}: the app calling itself stays local; the proxy calling the pod goes to the inbound listener`, () => {
      expect(connect(t, t.pod, APP_UID, pod, 9080)).toMatchObject({ who: 'app' });
      expect(connect(t, t.pod, PROXY_UID, pod, 9080)).toMatchObject({
        who: 'proxy-15006',
        original: { port: 9080 },
      });
    });
  }

  it('leaves loopback untouched', () => {
    expect(connect(t, t.pod, APP_UID, '127.0.0.1', 9080)).toMatchObject({
      who: 'app',
      local: { ip: '127.0.0.1' },
    });
    expect(connect(t, t.pod, APP_UID, '::1', 9080)).toMatchObject({ who: 'app', local: { ip: '::1' } });
  });

  it('applying twice leaves one copy of every rule', () => {
    const before = { v4: ourLines(saveOf(t, 'iptables-save')), v6: ourLines(saveOf(t, 'ip6tables-save')) };
    expect(cli(t, args).status).toBe(0);
    const v4 = saveOf(t, 'iptables-save');
    const v6 = saveOf(t, 'ip6tables-save');
    expect(ourLines(v4)).toEqual(before.v4);
    expect(ourLines(v6)).toEqual(before.v6);
    for (const save of [v4, v6]) {
      expect(hookCount(save, 'nat', '-A PREROUTING -p tcp -j SIDECAR_INBOUND')).toBe(1);
      expect(hookCount(save, 'nat', '-A OUTPUT -p tcp -j SIDECAR_OUTPUT')).toBe(1);
      expect(new Set(ourLines(save)).size).toBe(ourLines(save).length);
    }
    expect(connect(t, t.pod, APP_UID, '198.18.0.1', 8080)).toMatchObject({ who: 'proxy-15001' });
  });

  it('--cleanup removes every chain and hook and restores direct connectivity', () => {
    const r = cli(t, ['--cleanup']);
    expect(r.status).toBe(0);
    expect(saveOf(t, 'iptables-save')).not.toContain('SIDECAR_');
    expect(saveOf(t, 'ip6tables-save')).not.toContain('SIDECAR_');
    expect(connect(t, t.pod, APP_UID, '198.18.0.1', 8080)).toMatchObject({ who: 'peer' });
    expect(connect(t, t.pod, APP_UID, 'fd00:99::1', 8080)).toMatchObject({ who: 'peer' });
    expect(connect(t, t.peer, 0, '198.18.0.2', 9080)).toMatchObject({ who: 'app' });
    // Cleaning a clean pod is not an error.
    expect(cli(t, ['--cleanup']).status).toBe(0);
  });

  it('refuses bad flags with one line and changes nothing', () => {
    const r = cli(t, ['-x', '10.0.0.0/33']);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('-x/--outbound-ip-ranges-exclude');
    expect(saveOf(t, 'iptables-save')).not.toContain('SIDECAR_');
  });

  it('--dry-run prints the restore input and changes nothing', () => {
    const r = cli(t, [...args, '--dry-run']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('-A SIDECAR_REDIRECT -p tcp -j REDIRECT --to-ports 15001');
    expect(r.stdout).toContain('# ip6tables-restore --noflush (nat');
    expect(saveOf(t, 'iptables-save')).not.toContain('SIDECAR_');
  });
});

/** Whether this kernel and iptables can load a TPROXY rule, tried in a scratch namespace. */
function tproxyProbe(t: Topology): Run {
  return t.exec(t.pod, [
    'iptables',
    '-t',
    'mangle',
    '-A',
    'PREROUTING',
    '-p',
    'tcp',
    '--dport',
    '1',
    '-j',
    'TPROXY',
    '--on-port',
    '1',
    '--tproxy-mark',
    '1',
  ]);
}

describe('iptables TPROXY in a pod-like network namespace (IPv4 and IPv6)', () => {
  const t = new Topology();
  const args = captureArgs('TPROXY', '9091', '--ipv6');
  let probe: Run;

  beforeAll(async () => {
    t.create();
    probe = tproxyProbe(t);
    sh(['ip', 'netns', 'exec', t.pod, 'iptables', '-t', 'mangle', '-F', 'PREROUTING']);
    await t.start(t.peer, [PYTHON, TCP_PY, 'serve', 'peer', '8080']);
    await t.start(t.pod, asUser(APP_UID, [PYTHON, TCP_PY, 'serve', 'app', '9080', '9091']));
    await t.start(t.pod, PROXY(15001, '--forward'));
    await t.start(t.pod, PROXY(15006, '--transparent'));
  });
  afterAll(() => t.destroy());

  it('the kernel supports TPROXY (a failure here means the TPROXY mode cannot be verified on this machine)', () => {
    expect(probe.stderr, 'kernel lacks TPROXY support (xt_TPROXY / nft tproxy)').toBe('');
    expect(probe.status).toBe(0);
  });

  it('applies with the real command, including the policy routing', () => {
    const r = cli(t, args);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(must(['ip', '-n', t.pod, '-4', 'rule', 'show']).stdout).toMatch(/fwmark 0x539 lookup 133/);
    expect(must(['ip', '-n', t.pod, '-6', 'rule', 'show']).stdout).toMatch(/fwmark 0x539 lookup 133/);
    expect(must(['ip', '-n', t.pod, 'route', 'show', 'table', '133']).stdout).toMatch(/local default dev lo/);
  });

  for (const [family, peer, pod] of [
    ['IPv4', '198.18.0.1', '198.18.0.2'],
    ['IPv6', 'fd00:99::1', 'fd00:99::2'],
  ] as const) {
    it(`${family}: inbound arrives at the transparent listener with the original destination and source`, () => {
      expect(connect(t, t.peer, 0, pod, 9080)).toMatchObject({
        who: 'proxy-15006',
        original: { ip: pod, port: 9080 },
        from: { ip: peer },
      });
    });

    it(`${family}: an excluded inbound port reaches the app directly`, () => {
      expect(connect(t, t.peer, 0, pod, 9091)).toMatchObject({ who: 'app', local: { port: 9091 } });
    });

    it(`${family}: outbound app traffic goes through 15001 and the proxy's own does not loop`, () => {
      const answer = connect(t, t.pod, APP_UID, peer, 8080);
      expect(answer).toMatchObject({ who: 'proxy-15001', original: { ip: peer, port: 8080 } });
      expect(answer.upstream).toMatchObject({ who: 'peer' });
      expect(connect(t, t.pod, PROXY_UID, peer, 8080)).toMatchObject({ who: 'peer' });
    });
  }

  it('applying twice leaves one copy of every rule and routing rule', () => {
    const before = ourLines(saveOf(t, 'iptables-save'));
    expect(cli(t, args).status).toBe(0);
    const v4 = saveOf(t, 'iptables-save');
    expect(ourLines(v4)).toEqual(before);
    expect(hookCount(v4, 'mangle', '-A PREROUTING -p tcp -j SIDECAR_INBOUND')).toBe(1);
    expect(hookCount(v4, 'mangle', '-A OUTPUT -p tcp -j SIDECAR_RESTORE_MARK')).toBe(1);
    const rules = must(['ip', '-n', t.pod, '-4', 'rule', 'show']).stdout.match(/fwmark 0x539 lookup 133/g);
    expect(rules).toHaveLength(1);
  });

  it('--cleanup removes chains, hooks and policy routing', () => {
    expect(cli(t, ['--cleanup']).status).toBe(0);
    expect(saveOf(t, 'iptables-save')).not.toContain('SIDECAR_');
    expect(saveOf(t, 'ip6tables-save')).not.toContain('SIDECAR_');
    expect(must(['ip', '-n', t.pod, '-4', 'rule', 'show']).stdout).not.toContain('lookup 133');
    expect(must(['ip', '-n', t.pod, '-6', 'rule', 'show']).stdout).not.toContain('lookup 133');
    expect(connect(t, t.peer, 0, '198.18.0.2', 9080)).toMatchObject({ who: 'app' });
    expect(connect(t, t.pod, APP_UID, '198.18.0.1', 8080)).toMatchObject({ who: 'peer' });
  });
});
