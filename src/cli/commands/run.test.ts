import { describe, expect, it } from 'vitest';
import { parseDuration } from './run.js';

describe('parseDuration', () => {
  it('reads the short units tests use', () => {
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('10m')).toBe(600_000);
    expect(parseDuration('90d')).toBe(90 * 86_400_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('1.5s')).toBe(1500);
  });

  it('reads Go durations as Helm values and cert-manager write them', () => {
    expect(parseDuration('8760h')).toBe(365 * 86_400_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('2m30s')).toBe(150_000);
  });

  it('takes a bare number as milliseconds', () => {
    expect(parseDuration('1500')).toBe(1500);
    expect(parseDuration(' 40s ')).toBe(40_000);
  });

  it('refuses anything else', () => {
    for (const bad of ['', 's', '10 m', '10y', '-5s', '1h 30m', '10m!', 'abc']) {
      expect(() => parseDuration(bad), bad).toThrow(/not a duration/);
    }
  });
});
