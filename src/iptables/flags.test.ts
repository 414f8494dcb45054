import { describe, expect, it } from 'vitest';
import { buildIptablesArgs, IptablesFlagError, parseIptablesArgs, type IptablesOptions } from './flags.js';
import { SEED_ARGS } from './testdata/seed-args.js';

describe('buildIptablesArgs / parseIptablesArgs', () => {
  it('reads the seed arguments', () => {
    expect(parseIptablesArgs(['iptables', ...SEED_ARGS])).toEqual({
      proxyPort: 15001,
      inboundCapturePort: 15006,
      proxyUid: 1337,
      inboundInterceptionMode: 'REDIRECT',
      outboundIpRangesInclude: ['*'],
      outboundIpRangesExclude: [],
      inboundPortsInclude: ['9080'],
      inboundPortsExclude: ['15020', '15021', '15090'],
    });
  });

  it('writes policy values in a fixed order, empty lists as ""', () => {
    expect(
      buildIptablesArgs({
        proxyPort: 15001,
        inboundCapturePort: 15006,
        proxyUid: 1337,
        proxyGid: 1337,
        inboundInterceptionMode: 'TPROXY',
        outboundIpRangesInclude: ['*'],
        outboundIpRangesExclude: [],
        inboundPortsInclude: [9080, 9443],
        inboundPortsExclude: [15020],
        outboundPortsExclude: ['5432'],
        ipv6: false,
      }),
    ).toEqual([
      'iptables',
      '-p',
      '15001',
      '-z',
      '15006',
      '-u',
      '1337',
      '-g',
      '1337',
      '-m',
      'TPROXY',
      '-i',
      '*',
      '-x',
      '',
      '-b',
      '9080,9443',
      '-d',
      '15020',
      '-o',
      '5432',
      '--no-ipv6',
    ]);
  });

  it.each<[string, IptablesOptions]>([
    ['empty', {}],
    ['defaults spelled out', { proxyPort: 15001, inboundCapturePort: 15006, proxyUid: 1337, proxyGid: 1337 }],
    [
      'lists',
      {
        outboundIpRangesInclude: ['10.0.0.0/8', 'fd00::/8'],
        outboundIpRangesExclude: [],
        outboundPortsExclude: [],
      },
    ],
    ['booleans', { ipv6: true, dryRun: true, cleanup: true }],
    [
      'tproxy knobs',
      { inboundInterceptionMode: 'TPROXY', inboundTproxyMark: 7, inboundTproxyRouteTable: 100 },
    ],
  ])('round-trips %s', (_name, options) => {
    expect(parseIptablesArgs(buildIptablesArgs(options))).toEqual(options);
  });

  it('accepts long names and --name=value', () => {
    expect(
      parseIptablesArgs(['--proxy-port=15011', '--inbound-ports-include', '*', '--no-ipv6', '--dry-run']),
    ).toEqual({ proxyPort: 15011, inboundPortsInclude: ['*'], ipv6: false, dryRun: true });
  });

  it.each([
    [['--bogus'], 'unknown flag "--bogus"'],
    [['-p'], '-p/--proxy-port needs a value'],
    [['-p', 'abc'], '-p/--proxy-port: "abc" is not a non-negative integer'],
    [['-u', '-1'], '-u/--proxy-uid: "-1" is not a non-negative integer'],
  ])('refuses %j', (argv, message) => {
    expect(() => parseIptablesArgs(argv)).toThrow(IptablesFlagError);
    expect(() => parseIptablesArgs(argv)).toThrow(message);
  });
});
