import { describe, expect, it } from 'vitest';
import { parseCidr } from './address.js';

describe('parseCidr', () => {
  it.each([
    ['10.0.0.0/8', 'ipv4', '10.0.0.0/8'],
    ['192.168.1.7', 'ipv4', '192.168.1.7/32'],
    ['0.0.0.0/0', 'ipv4', '0.0.0.0/0'],
    [' 172.16.0.0/12 ', 'ipv4', '172.16.0.0/12'],
    ['fd00:99::/64', 'ipv6', 'fd00:99::/64'],
    ['::1', 'ipv6', '::1/128'],
    ['::/0', 'ipv6', '::/0'],
    ['2001:db8:0:0:0:0:0:1/128', 'ipv6', '2001:db8:0:0:0:0:0:1/128'],
    ['::ffff:10.0.0.1/128', 'ipv6', '::ffff:10.0.0.1/128'],
  ])('%s is %s %s', (input, family, text) => {
    expect(parseCidr(input)).toEqual({ family, text });
  });

  it.each([
    ['10.0.0.0/33', 'invalid prefix length (0-32)'],
    ['fd00::/129', 'invalid prefix length (0-128)'],
    ['10.0.0/8', 'not an IPv4 or IPv6'],
    ['256.0.0.1', 'not an IPv4 or IPv6'],
    ['10.0.0.01', 'not an IPv4 or IPv6'],
    ['10.0.0.0/', 'invalid prefix length'],
    ['10.0.0.0/x', 'invalid prefix length'],
    ['1::2::3', 'not an IPv4 or IPv6'],
    ['1:2:3:4:5:6:7:8:9', 'not an IPv4 or IPv6'],
    ['1:2:3:4:5:6:7::8', 'not an IPv4 or IPv6'],
    ['gggg::', 'not an IPv4 or IPv6'],
    ['*', 'not an IPv4 or IPv6'],
    ['', 'not an IPv4 or IPv6'],
  ])('%j is refused (%s)', (input, message) => {
    const r = parseCidr(input);
    expect(typeof r).toBe('string');
    expect(r).toContain(message);
  });
});
