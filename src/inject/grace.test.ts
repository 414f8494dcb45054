import { describe, expect, it } from 'vitest';
import { fitPreStopToGrace } from './grace.js';

const proxy = (seconds: number, extra: Record<string, unknown> = {}) => ({
  name: 'sidecar-proxy',
  lifecycle: { preStop: { sleep: { seconds } }, ...extra },
});

describe('fitPreStopToGrace', () => {
  it.each([
    ['no grace period set (30 s default)', 5, undefined, { preStop: { sleep: { seconds: 5 } } }],
    ['a grace period longer than the pause', 5, 10, { preStop: { sleep: { seconds: 5 } } }],
    ['a grace period equal to the pause', 5, 5, { preStop: { sleep: { seconds: 4 } } }],
    ['a grace period of 2 s', 5, 2, { preStop: { sleep: { seconds: 1 } } }],
    ['a grace period of 1 s', 5, 1, undefined],
    ['a grace period of 0 s', 5, 0, undefined],
  ])('%s', (_, seconds, grace, want) => {
    expect(fitPreStopToGrace(proxy(seconds), grace).lifecycle).toEqual(want);
  });

  it('keeps a postStart hook when the preStop pause cannot fit', () => {
    const post = { exec: { command: ['wait'] } };
    expect(fitPreStopToGrace(proxy(5, { postStart: post }), 1).lifecycle).toEqual({ postStart: post });
  });

  it('leaves a container without a preStop sleep alone', () => {
    const c = { name: 'x' };
    expect(fitPreStopToGrace(c, 1)).toBe(c);
  });
});
