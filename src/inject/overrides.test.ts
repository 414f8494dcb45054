import { describe, expect, it } from 'vitest';
import { compileTemplate } from './index.js';
import { readOverrides } from './overrides.js';

const template = compileTemplate(
  { metadata: { name: 'mesh' }, spec: { selector: { namespaces: ['apps'] } } },
  { nativeSidecars: true, initImage: 'ghcr.io/sidecar-operator/sidecar-operator:v0.1.0' },
);
const key = 'traffic.sidecar.dev/excludeOutboundIPRanges';
const read = (value: string) =>
  readOverrides({ [key]: value }, template.interception, ['excludeOutboundIPRanges']);

describe('readOverrides: CIDR lists', () => {
  it('takes the longest CIDR there is, and refuses anything longer', () => {
    const longest = '0000:0000:0000:0000:0000:ffff:192.168.100.228/128';
    expect(longest).toHaveLength(49);
    expect(read(`${longest}, 10.0.0.0/8`).interception.excludeOutboundIPRanges).toEqual([
      longest,
      '10.0.0.0/8',
    ]);
    expect(read(`0${longest}`).warnings.map((w) => w.reason)).toEqual(['OverrideMalformed']);
  });

  it('refuses a 200,000-character run of colons at once (the IPv6 pattern backtracks on it)', () => {
    const started = performance.now();
    const out = read(':'.repeat(200_000));
    expect(performance.now() - started).toBeLessThan(100);
    expect(out.warnings.map((w) => w.reason)).toEqual(['OverrideMalformed']);
    expect(out.interception.excludeOutboundIPRanges).toEqual([]);
    expect(out.warnings[0]!.message).toBe(`${key}: "${':'.repeat(61)}..." is not a CIDR; ignored`);
  });
});
