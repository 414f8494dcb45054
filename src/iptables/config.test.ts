import { describe, expect, it } from 'vitest';
import { resolveConfig } from './config.js';
import { IptablesFlagError, type IptablesOptions } from './flags.js';

describe('resolveConfig', () => {
  it('applies istio-iptables defaults', () => {
    expect(resolveConfig({})).toEqual({
      proxyPort: 15001,
      inboundCapturePort: 15006,
      proxyUid: 1337,
      proxyGid: 1337,
      mode: 'REDIRECT',
      outboundInclude: '*',
      outboundExclude: [],
      inboundInclude: '*',
      inboundExclude: [],
      outboundPortsExclude: [],
      tproxyMark: 1337,
      tproxyRouteTable: 133,
      ipv6: undefined,
      dryRun: false,
      cleanup: false,
    });
  });

  it('defaults the GID to the UID and accepts a lower-case mode', () => {
    const c = resolveConfig({ proxyUid: 2000, inboundInterceptionMode: 'tproxy' });
    expect(c.proxyGid).toBe(2000);
    expect(c.mode).toBe('TPROXY');
  });

  it('lets exclusion win over an explicit inclusion and drops duplicates', () => {
    const c = resolveConfig({
      inboundPortsInclude: ['9080', 15020, '9080'],
      inboundPortsExclude: [15020, 15020],
    });
    expect(c.inboundInclude).toEqual([9080]);
    expect(c.inboundExclude).toEqual([15020]);
  });

  it('splits CIDRs by family', () => {
    const c = resolveConfig({ outboundIpRangesExclude: ['10.0.0.0/8', 'fd00::/8', '1.2.3.4'] });
    expect(c.outboundExclude).toEqual([
      { family: 'ipv4', text: '10.0.0.0/8' },
      { family: 'ipv6', text: 'fd00::/8' },
      { family: 'ipv4', text: '1.2.3.4/32' },
    ]);
  });

  it.each<[string, IptablesOptions, string]>([
    [
      'bad CIDR',
      { outboundIpRangesExclude: ['10.0.0.0/33'] },
      '-x/--outbound-ip-ranges-exclude: "10.0.0.0/33" has an invalid prefix',
    ],
    [
      'bad include CIDR',
      { outboundIpRangesInclude: ['nope'] },
      '-i/--outbound-ip-ranges-include: "nope" is not',
    ],
    ['port 0', { proxyPort: 0 }, '-p/--proxy-port: "0" is not a port (1-65535)'],
    ['port too big', { inboundCapturePort: 65536 }, '-z/--inbound-capture-port: "65536" is not a port'],
    ['inbound port 0', { inboundPortsInclude: ['0'] }, '-b/--inbound-ports-include: "0" is not a port'],
    [
      'excluded port text',
      { inboundPortsExclude: ['http'] },
      '-d/--inbound-ports-exclude: "http" is not a port',
    ],
    [
      'outbound port',
      { outboundPortsExclude: ['70000'] },
      '-o/--outbound-ports-exclude: "70000" is not a port',
    ],
    ['unknown mode', { inboundInterceptionMode: 'NAT' }, 'unknown mode "NAT" (REDIRECT or TPROXY)'],
    ['mixed * in CIDRs', { outboundIpRangesInclude: ['*', '10.0.0.0/8'] }, "'*' cannot be mixed"],
    [
      'mixed * in ports',
      { inboundPortsInclude: ['80', '*'] },
      "-b/--inbound-ports-include: '*' cannot be mixed",
    ],
    ['* in an exclusion', { inboundPortsExclude: ['*'] }, "'*' is not allowed in an exclusion list"],
    ['root UID', { proxyUid: 0 }, '-u/--proxy-uid: 0 is not a valid UID'],
    ['root GID', { proxyGid: 0 }, '-g/--proxy-gid: 0 is not a valid GID'],
    ['same ports', { proxyPort: 15006 }, 'must differ'],
    ['mark 0', { inboundTproxyMark: 0 }, '-t/--inbound-tproxy-mark'],
    ['reserved table', { inboundTproxyRouteTable: 254 }, '-r/--inbound-tproxy-route-table'],
  ])('refuses %s', (_name, options, message) => {
    expect(() => resolveConfig(options)).toThrow(IptablesFlagError);
    expect(() => resolveConfig(options)).toThrow(message);
  });
});
