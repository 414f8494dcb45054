import { afterEach, describe, expect, it, vi } from 'vitest';
import { progressNote } from './progress.js';

describe('progressNote', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('says nothing about a quick step, and erases what it said about a slow one', () => {
    vi.useFakeTimers();
    const written: string[] = [];
    const step = progressNote((s) => written.push(s), 1000);
    const quick = step('reaching the API server');
    vi.advanceTimersByTime(999);
    quick();
    expect(written).toEqual([]);
    const slow = step('probing the webhook of policy mesh');
    vi.advanceTimersByTime(1000);
    expect(written).toEqual(['… probing the webhook of policy mesh']);
    slow();
    expect(written).toEqual(['… probing the webhook of policy mesh', '\r\x1b[K']);
    vi.advanceTimersByTime(5000);
    expect(written).toHaveLength(2);
  });
});
