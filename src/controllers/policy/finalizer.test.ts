import { describe, expect, it } from 'vitest';
import { cleanupVerdict } from './finalizer.js';

describe('cleanupVerdict', () => {
  const now = new Date('2026-01-01T00:10:00Z');

  it('keeps the finalizer until the timeout since the deletion was asked for', () => {
    expect(cleanupVerdict({ deletionTimestamp: '2026-01-01T00:06:00Z', now, timeoutMs: 300_000 })).toEqual({
      giveUp: false,
      leftMs: 60_000,
    });
  });

  it('lets go once it has passed', () => {
    for (const at of ['2026-01-01T00:05:00Z', '2026-01-01T00:00:00Z'])
      expect(cleanupVerdict({ deletionTimestamp: at, now, timeoutMs: 300_000 })).toEqual({
        giveUp: true,
        leftMs: 0,
      });
  });

  it('counts from now without a deletion timestamp', () => {
    expect(cleanupVerdict({ deletionTimestamp: undefined, now, timeoutMs: 1000 }).giveUp).toBe(false);
  });
});
