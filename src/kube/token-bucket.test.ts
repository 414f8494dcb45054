import { describe, expect, it } from 'vitest';
import { TokenBucket } from './token-bucket.js';

describe('TokenBucket', () => {
  it('reserve: a burst at once, then a growing wait, never refused', () => {
    const b = new TokenBucket(10, 3, 0);
    expect([b.reserve(0), b.reserve(0), b.reserve(0)]).toEqual([0, 0, 0]);
    expect(b.reserve(0)).toBe(100);
    expect(b.reserve(0)).toBe(200);
    // Refilled at 10/s: after 1 s the debt of 2 is paid and one token is left over.
    expect(b.reserve(1000)).toBe(0);
  });

  it('take: grants while a token is left, else says when one is due and takes nothing', () => {
    const b = new TokenBucket(1000 / 250, 2, 0);
    expect([b.take(0), b.take(0)]).toEqual([0, 0]);
    expect(b.take(0)).toBe(250);
    expect(b.take(100)).toBeCloseTo(150);
    expect(b.take(250)).toBe(0);
    expect(b.take(250)).toBe(250);
  });

  it('never holds more than the burst', () => {
    const b = new TokenBucket(10, 2, 0);
    expect([b.take(60_000), b.take(60_000), b.take(60_000)]).toEqual([0, 0, 100]);
  });
});
