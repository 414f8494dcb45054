import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import {
  buildIptablesArgs,
  parseIptablesArgs,
  resolveConfig,
  type IptablesOptionKey,
} from '../../iptables/index.js';
import { CliError } from '../errors.js';
import { configFromFlags, register } from './iptables.js';
import { SEED_ARGS } from '../../iptables/testdata/seed-args.js';

/** Parses argv with the real commander definition, capturing the flags instead of applying them. */
function viaCommander(argv: string[]): Partial<Record<IptablesOptionKey, string | boolean>> {
  const program = new Command('sidecar-operator').exitOverride();
  register(program);
  let captured: Partial<Record<IptablesOptionKey, string | boolean>> = {};
  const sub = program.commands.find((c) => c.name() === 'iptables');
  sub?.exitOverride().action((raw: typeof captured) => {
    captured = raw;
  });
  program.parse(argv, { from: 'user' });
  return captured;
}

const CASES = [
  ['iptables', ...SEED_ARGS],
  buildIptablesArgs({
    inboundInterceptionMode: 'TPROXY',
    outboundIpRangesExclude: ['10.0.0.0/8'],
    ipv6: false,
    proxyGid: 7,
  }),
  ['iptables', '--proxy-port=16001', '--ipv6', '--cleanup', '--dry-run'],
];

describe('iptables command', () => {
  it.each(CASES)('reads %j exactly as parseIptablesArgs does', (...argv) => {
    expect(configFromFlags(viaCommander(argv))).toEqual(resolveConfig(parseIptablesArgs(argv)));
  });

  it('turns a bad flag value into a usage error (exit 2)', () => {
    const err: unknown = (() => {
      try {
        configFromFlags(viaCommander(['iptables', '-m', 'NAT']));
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(2);
    expect((err as CliError).message).toBe(
      'iptables: -m/--inbound-interception-mode: unknown mode "NAT" (REDIRECT or TPROXY)',
    );
  });

  it('refuses unknown flags', () => {
    expect(() => viaCommander(['iptables', '--bogus'])).toThrow("unknown option '--bogus'");
  });
});
