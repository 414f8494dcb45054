// Reading a benchmarked process from the outside, and waiting for it.
import { readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

export { sleep };

/** VmRSS and VmHWM (peak) of `pid`, in KiB. */
export function memory(pid) {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0);
  return { rss: kib('VmRSS'), hwm: kib('VmHWM') };
}

/** Resets VmHWM to the current RSS, so the next peak read is the next phase's own. */
export function resetPeak(pid) {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
}

/** Samples VmRSS every 100 ms for `ms`; returns the median (KiB). */
export async function steadyRss(pid, ms) {
  const samples = [];
  for (const end = performance.now() + ms; performance.now() < end; await sleep(100))
    samples.push(memory(pid).rss);
  samples.sort((a, b) => a - b);
  return samples[samples.length >> 1];
}

/**
 * Polls `fn` every 50 ms until it returns something truthy (thrown errors count as not yet);
 * `gone`, when given, says why waiting is pointless (a process exited), or nothing.
 */
export async function until(what, fn, timeoutMs, gone = () => undefined) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const why = gone();
    if (why) throw new Error(`waiting for ${what}: ${why}`);
    const v = await Promise.resolve()
      .then(fn)
      .catch(() => false);
    if (v) return v;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const sorted = (xs) => [...xs].sort((a, b) => a - b);
export const median = (xs) => sorted(xs)[Math.floor(xs.length / 2)];
/** `median (min–max)` of xs formatted by fmt, or the one value. */
export const spread = (xs, fmt) =>
  xs.length === 1 ? fmt(xs[0]) : `${fmt(median(xs))} (${fmt(sorted(xs)[0])}–${fmt(sorted(xs).at(-1))})`;
