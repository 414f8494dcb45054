import { describe, expect, it } from 'vitest';
import { decideLease, observe, type LeaseRecord } from './lease-decision.js';

const held = (holder: string, rv = '1', durationMs = 15_000): LeaseRecord => ({
  holder,
  resourceVersion: rv,
  durationMs,
});

describe('decideLease, for the leader', () => {
  const base = { leading: true, identity: 'me', now: 1000 };

  it('renews a Lease that names it', () => {
    const lease = held('me');
    expect(decideLease({ ...base, lease, observed: observe(lease, undefined, 1000) })).toEqual({
      do: 'renew',
    });
  });

  it('steps down at once when the Lease is gone, never re-creating it', () => {
    const observed = observe(held('me'), undefined, 900);
    expect(decideLease({ ...base, lease: undefined, observed })).toEqual({
      do: 'step-down',
      reason: 'the Lease was deleted',
    });
  });

  it('steps down at once when the Lease names another or nobody, however fresh', () => {
    for (const holder of ['other', '']) {
      const lease = held(holder, '2');
      const action = decideLease({ ...base, lease, observed: observe(lease, undefined, 1000) });
      expect(action.do).toBe('step-down');
    }
  });
});

describe('decideLease, for a candidate', () => {
  const base = { leading: false, identity: 'me' };

  it('waits while the record it saw has not stood for its duration, whoever it names', () => {
    for (const holder of ['other', '', 'me']) {
      const lease = held(holder);
      const observed = observe(lease, undefined, 1000);
      expect(decideLease({ ...base, lease, observed, now: 15_999 })).toEqual({
        do: 'wait',
        untilMs: 16_000,
      });
      expect(decideLease({ ...base, lease, observed, now: 16_000 })).toEqual({ do: 'acquire' });
    }
  });

  it('counts from the last change it saw: a renewal restarts the wait', () => {
    const first = observe(held('other', '1'), undefined, 1000);
    expect(observe(held('other', '1'), first, 9000)).toBe(first);
    const renewed = observe(held('other', '2'), first, 9000);
    expect(renewed.at).toBe(9000);
    expect(decideLease({ ...base, lease: held('other', '2'), observed: renewed, now: 17_000 }).do).toBe(
      'wait',
    );
  });

  it('honours a released record for its (short) duration', () => {
    const released = held('', '3', 1000);
    const observed = observe(released, undefined, 5000);
    expect(decideLease({ ...base, lease: released, observed, now: 5500 }).do).toBe('wait');
    expect(decideLease({ ...base, lease: released, observed, now: 6000 }).do).toBe('acquire');
  });

  it('re-creates a deleted Lease only once the record it last saw would have expired', () => {
    const observed = observe(held('other'), undefined, 1000);
    expect(decideLease({ ...base, lease: undefined, observed, now: 2000 })).toEqual({
      do: 'wait',
      untilMs: 16_000,
    });
    expect(decideLease({ ...base, lease: undefined, observed, now: 16_000 })).toEqual({ do: 'create' });
  });

  it('creates a Lease it never saw at once', () => {
    expect(decideLease({ ...base, lease: undefined, observed: undefined, now: 0 })).toEqual({
      do: 'create',
    });
  });
});
