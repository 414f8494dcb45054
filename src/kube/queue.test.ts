import { describe, expect, it } from 'vitest';
import { WorkQueue, type QueueTimers } from './queue.js';

/** A manual clock: timers fire only when the test advances time. */
function fakeTimers(): QueueTimers & { advance(ms: number): void } {
  let now = 0;
  let seq = 0;
  const pending = new Map<number, { at: number; fn: () => void }>();
  return {
    now: () => now,
    setTimeout(fn, ms) {
      pending.set(++seq, { at: now + ms, fn });
      return seq;
    },
    clearTimeout(h) {
      pending.delete(h as number);
    },
    advance(ms) {
      now += ms;
      for (const [id, t] of [...pending].sort((a, b) => a[1].at - b[1].at)) {
        if (t.at <= now) {
          pending.delete(id);
          t.fn();
        }
      }
    },
  };
}

describe('WorkQueue', () => {
  it('holds a waiting key once however often it is added', async () => {
    const q = new WorkQueue();
    q.add('a');
    q.add('b');
    q.add('a');
    expect(q.length).toBe(2);
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBe('b');
    expect(q.length).toBe(0);
  });

  it('never hands out a key being processed; an add meanwhile requeues it after done', async () => {
    const q = new WorkQueue();
    q.add('a');
    const key = await q.get();
    q.add('a');
    q.add('a');
    expect(q.length).toBe(0);
    q.done(key!);
    expect(q.length).toBe(1);
    expect(await q.get()).toBe('a');
    q.done('a');
    expect(q.length).toBe(0);
  });

  it('wakes a waiting getter on add', async () => {
    const q = new WorkQueue();
    const got = q.get();
    q.add('x');
    expect(await got).toBe('x');
  });

  it('backs off per key exponentially, capped, and forgets on success', () => {
    const timers = fakeTimers();
    let retries = 0;
    const q = new WorkQueue({ baseDelayMs: 5, maxDelayMs: 100, timers, onRetry: () => retries++ });
    expect([1, 2, 3, 4, 5, 6].map(() => q.addRateLimited('a'))).toEqual([5, 10, 20, 40, 80, 100]);
    expect(q.addRateLimited('b')).toBe(5);
    expect(retries).toBe(7);
    expect(q.retries('a')).toBe(6);
    q.forget('a');
    expect(q.retries('a')).toBe(0);
    expect(q.addRateLimited('a')).toBe(5);
  });

  it('adds after a delay, the earliest pending delay winning', () => {
    const timers = fakeTimers();
    const q = new WorkQueue({ timers });
    q.addAfter('a', 100);
    q.addAfter('a', 50);
    q.addAfter('a', 500);
    timers.advance(49);
    expect(q.length).toBe(0);
    timers.advance(1);
    expect(q.length).toBe(1);
    timers.advance(1000);
    expect(q.length).toBe(1);
  });

  it('reports depth and releases getters on shutdown', async () => {
    const depths: number[] = [];
    const timers = fakeTimers();
    const q = new WorkQueue({ timers, onDepth: (d) => depths.push(d) });
    q.add('a');
    q.add('b');
    await q.get();
    expect(depths).toEqual([1, 2, 1]);
    q.addAfter('c', 10);
    q.shutDown();
    expect(await q.get()).toBeUndefined();
    timers.advance(100);
    q.add('d');
    expect(q.length).toBe(1);
    expect(q.isShutDown).toBe(true);
  });

  it('limits retries overall: past the burst, re-adds of fresh keys wait for the bucket', () => {
    const timers = fakeTimers();
    const q = new WorkQueue({ timers, baseDelayMs: 5, rateLimit: { qps: 10, burst: 3 } });
    // Three fresh keys fit in the burst: each waits only its own 5 ms.
    expect(['a', 'b', 'c'].map((k) => q.addRateLimited(k))).toEqual([5, 5, 5]);
    // Then one token per 100 ms: the fourth and fifth wait 100 and 200 ms although their own backoff is 5.
    expect(q.addRateLimited('d')).toBe(100);
    expect(q.addRateLimited('e')).toBe(200);
    timers.advance(1000);
    expect(q.length).toBe(5);
    // After a second the bucket has refilled: the per-key backoff decides again (a's second failure).
    expect(q.addRateLimited('a')).toBe(10);
  });

  it('a long per-key backoff wins over an available token', () => {
    const timers = fakeTimers();
    const q = new WorkQueue({ timers, baseDelayMs: 1000, rateLimit: { qps: 10, burst: 100 } });
    q.addRateLimited('a');
    expect(q.addRateLimited('a')).toBe(2000);
  });
});
