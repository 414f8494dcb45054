import { describe, expect, it } from 'vitest';
import { hasGlobalIPv6, parseBackend } from './detect.js';

describe('parseBackend', () => {
  it.each([
    ['iptables v1.8.9 (nf_tables)\n', 'nf_tables', '1.8.9'],
    ['iptables v1.8.7 (legacy)\n', 'legacy', '1.8.7'],
    ['iptables v1.6.1\n', 'legacy', '1.6.1'],
    ['something else', 'unknown', 'unknown'],
  ])('%j → %s %s', (text, name, version) => {
    expect(parseBackend(text)).toEqual({ name, version });
  });
});

describe('hasGlobalIPv6', () => {
  it.each([
    ['fd000000000000000000000000000002 04 40 00 80     eth0\n', true],
    ['fe8000000000000000fc00fffe000001 04 40 20 80     eth0\n', false],
    ['00000000000000000000000000000001 01 80 10 80       lo\n', false],
    ['', false],
  ])('%j → %s', (text, expected) => {
    expect(hasGlobalIPv6(text)).toBe(expected);
  });
});
