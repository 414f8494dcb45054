import { TokenBucket } from './token-bucket.js';

/** Timer functions the queue uses; tests pass fake ones. */
export interface QueueTimers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: QueueTimers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export interface WorkQueueOptions {
  /** First retry delay; doubles per consecutive failure of the same key. */
  baseDelayMs?: number;
  /** Cap of the per-key retry delay. */
  maxDelayMs?: number;
  timers?: QueueTimers;
  /**
   * Overall limit on rate-limited re-adds, whatever the key (default 10/s, burst 100, as
   * controller-runtime): a retry waits for the longer of its own backoff and the bucket.
   */
  rateLimit?: { qps: number; burst: number };
  /** Called whenever the number of waiting keys changes (metrics). */
  onDepth?: (depth: number) => void;
  /** Called on every rate-limited re-add (metrics). */
  onRetry?: () => void;
}

/**
 * A queue of keys, as client-go's workqueue: a waiting key is held once however often it is added;
 * a key being processed is never handed out again until `done`, and an add meanwhile marks it dirty
 * so it comes back right after; failures back off per key (base·2ⁿ, capped) until `forget`.
 */
export class WorkQueue<K = string> {
  private readonly waiting: K[] = [];
  private readonly dirty = new Set<K>();
  private readonly processing = new Set<K>();
  private readonly failures = new Map<K, number>();
  /** Delayed adds, one timer per key: the earliest wins. */
  private readonly delayed = new Map<K, { at: number; handle: unknown }>();
  private readonly getters: ((k: K | undefined) => void)[] = [];
  private shuttingDown = false;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly timers: QueueTimers;
  private readonly bucket: TokenBucket;

  constructor(private readonly opts: WorkQueueOptions = {}) {
    this.baseDelayMs = opts.baseDelayMs ?? 5;
    this.maxDelayMs = opts.maxDelayMs ?? 300_000;
    this.timers = opts.timers ?? realTimers;
    const { qps, burst } = opts.rateLimit ?? { qps: 10, burst: 100 };
    this.bucket = new TokenBucket(qps, burst, this.timers.now());
  }

  get length(): number {
    return this.waiting.length;
  }

  get isShutDown(): boolean {
    return this.shuttingDown;
  }

  add(key: K): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    const getter = this.getters.shift();
    if (getter) {
      this.dirty.delete(key);
      this.processing.add(key);
      getter(key);
      return;
    }
    this.waiting.push(key);
    this.opts.onDepth?.(this.waiting.length);
  }

  /** Adds `key` after `ms` (requeue-after); an earlier pending add for the key wins. */
  addAfter(key: K, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) return this.add(key);
    const at = this.timers.now() + ms;
    const pending = this.delayed.get(key);
    if (pending && pending.at <= at) return;
    if (pending) this.timers.clearTimeout(pending.handle);
    const handle = this.timers.setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    this.delayed.set(key, { at, handle });
  }

  /** Re-adds a failed key after its backoff or the overall limit, whichever is longer; returns the delay. */
  addRateLimited(key: K): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    const own = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.min(n, 40));
    const delay = Math.max(own, this.bucket.reserve(this.timers.now()));
    this.opts.onRetry?.();
    this.addAfter(key, delay);
    return delay;
  }

  /** Consecutive failures recorded for `key`. */
  retries(key: K): number {
    return this.failures.get(key) ?? 0;
  }

  /** Clears the failure count (after a success or a terminal error). */
  forget(key: K): void {
    this.failures.delete(key);
  }

  /** Waits for a key; resolves undefined once the queue is shut down. */
  get(): Promise<K | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined);
    const key = this.waiting.shift();
    if (key !== undefined) {
      this.dirty.delete(key);
      this.processing.add(key);
      this.opts.onDepth?.(this.waiting.length);
      return Promise.resolve(key);
    }
    return new Promise((resolve) => this.getters.push(resolve));
  }

  /** Ends processing of `key`; if it was added meanwhile it is queued again. */
  done(key: K): void {
    this.processing.delete(key);
    if (!this.dirty.has(key)) return;
    this.dirty.delete(key);
    this.add(key);
  }

  shutDown(): void {
    this.shuttingDown = true;
    for (const { handle } of this.delayed.values()) this.timers.clearTimeout(handle);
    this.delayed.clear();
    for (const g of this.getters.splice(0)) g(undefined);
  }
}
