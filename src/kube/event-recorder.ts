import { isNotFound } from './errors.js';
import { TokenBucket } from './token-bucket.js';
import {
  eventBody,
  eventNamespace,
  type EventInput,
  type EventReporter,
  type EventSink,
  type InvolvedObject,
} from './events.js';

export type EventDropReason = 'queue_full' | 'rate_limited' | 'stopped';
export type EventWriteVerb = 'create' | 'update';

export interface EventRecorderOptions {
  sink: EventSink;
  reporter: EventReporter;
  clock: () => Date;
  /** Distinct Events waiting to be written; past it, a new one is dropped. Default 1000. */
  maxQueue?: number;
  /**
   * Occurrences of the same object, type, reason and message within this window are one Event whose
   * `count` and `lastTimestamp` go up (client-go's EventCorrelator does the same). 0 turns
   * aggregation off: every occurrence is its own Event. Default 10 minutes.
   */
  aggregateWindowMs?: number;
  /**
   * Writes per involved object: a token bucket of `burst` writes, refilled one every `refillMs`.
   * A new Event over the limit is dropped; a count bump over it is written once a token is due
   * (the count is cumulative, so nothing is lost but its timeliness). Unset: no limit.
   */
  rateLimit?: { burst: number; refillMs: number };
  /** Writes in flight at once. Default 2. */
  concurrency?: number;
  /** Keys remembered for aggregation and rate limiting, least recently used forgotten first. Default 4096. */
  maxKeys?: number;
  /** Runs the writer off the caller's stack; default setImmediate. */
  schedule?: (fn: () => void) => void;
  /** Retries a deferred count bump later; default an unref'd setTimeout. */
  setTimer?: (fn: () => void, ms: number) => void;
  onDrop?: (reason: EventDropReason) => void;
  onWrite?: (verb: EventWriteVerb, ok: boolean, err?: unknown) => void;
  /** An occurrence folded into an Event that is pending or already written. */
  onAggregate?: () => void;
}

interface Entry {
  key: string;
  input: EventInput;
  /** The server's name, once created. */
  name?: string;
  first: Date;
  last: Date;
  /** Occurrences so far, and how many of them the server holds. */
  count: number;
  written: number;
  queued: boolean;
  inflight: boolean;
  /** A retry of a count bump the rate limit or the queue bound refused is pending. */
  deferred: boolean;
}

const objectKey = (o: InvolvedObject): string => `${o.apiVersion}|${o.kind}|${o.namespace ?? ''}|${o.name}`;

/**
 * Records Events without ever making the caller wait: `record` is synchronous and O(1), writes
 * happen later through a bounded queue, identical occurrences aggregate into one Event, and each
 * involved object is rate limited. Failures are reported through `onWrite`, never raised: Events
 * are best effort.
 */
export class QueuedEventRecorder {
  private readonly entries = new Map<string, Entry>();
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly queue: Entry[] = [];
  private inflight = 0;
  private scheduled = false;
  private stopped = false;
  private sequence = 0;
  private idleWaiters: (() => void)[] = [];
  private readonly maxQueue: number;
  private readonly windowMs: number;
  private readonly concurrency: number;
  private readonly maxKeys: number;
  private readonly schedule: (fn: () => void) => void;
  private readonly setTimer: (fn: () => void, ms: number) => void;

  constructor(private readonly o: EventRecorderOptions) {
    this.maxQueue = o.maxQueue ?? 1000;
    this.windowMs = o.aggregateWindowMs ?? 600_000;
    this.concurrency = Math.max(1, o.concurrency ?? 2);
    this.maxKeys = Math.max(1, o.maxKeys ?? 4096);
    this.schedule = o.schedule ?? ((fn) => void setImmediate(fn));
    this.setTimer = o.setTimer ?? ((fn, ms) => void setTimeout(fn, ms).unref());
  }

  /** Events waiting to be written (not counting those in flight). */
  get depth(): number {
    return this.queue.length;
  }

  record(input: EventInput): void {
    if (this.stopped) return this.o.onDrop?.('stopped');
    const now = this.o.clock();
    const key = this.windowMs > 0 ? this.keyOf(input) : `#${this.sequence++}`;
    const known = this.current(key, now);
    if (known) {
      known.count++;
      known.last = now;
      this.touch(this.entries, key, known);
      this.o.onAggregate?.();
      // A pending write carries the new count; one in flight is followed up when it lands.
      if (!known.queued && !known.inflight) this.enqueueUpdate(known, now.getTime());
      return;
    }
    if (!this.allow(input.object, now.getTime())) return this.o.onDrop?.('rate_limited');
    if (this.queue.length >= this.maxQueue) return this.o.onDrop?.('queue_full');
    const entry: Entry = {
      key,
      input,
      first: now,
      last: now,
      count: 1,
      written: 0,
      queued: false,
      inflight: false,
      deferred: false,
    };
    this.touch(this.entries, key, entry);
    this.push(entry);
    this.evict();
  }

  /** Resolves once nothing is queued or in flight. */
  idle(): Promise<void> {
    if (this.queue.length === 0 && this.inflight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Refuses new Events and waits, up to `timeoutMs`, for those accepted to be written. */
  async stop(timeoutMs = 5000): Promise<void> {
    this.stopped = true;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([this.idle(), deadline]);
    clearTimeout(timer);
  }

  private keyOf(i: EventInput): string {
    return JSON.stringify([objectKey(i.object), i.object.uid ?? '', i.type, i.reason, i.message]);
  }

  /** The entry to aggregate into, unless its window closed (then a new Event starts). */
  private current(key: string, now: Date): Entry | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    const expired = now.getTime() - e.first.getTime() >= this.windowMs;
    if (expired && !e.queued && !e.inflight) {
      this.entries.delete(key);
      return undefined;
    }
    return e;
  }

  /**
   * A count bump: rate limited and bounded like a new Event, but retried when a token is due rather
   * than lost, so the count a burst ends with reaches the server even if nothing follows it.
   */
  private enqueueUpdate(e: Entry, now: number): void {
    if (this.stopped || e.deferred || e.name === undefined || e.count <= e.written) return;
    if (this.queue.length >= this.maxQueue) return this.defer(e, 1000);
    const wait = this.take(e.input.object, now);
    if (wait > 0) return this.defer(e, wait);
    this.push(e);
  }

  private defer(e: Entry, ms: number): void {
    e.deferred = true;
    this.setTimer(() => {
      e.deferred = false;
      if (this.entries.get(e.key) === e && !e.queued && !e.inflight)
        this.enqueueUpdate(e, this.o.clock().getTime());
    }, Math.ceil(ms));
  }

  private allow(object: InvolvedObject, now: number): boolean {
    return this.take(object, now) === 0;
  }

  /** Takes a token from the object's bucket: 0 when granted, else the wait until one is due. */
  private take(object: InvolvedObject, now: number): number {
    const limit = this.o.rateLimit;
    if (!limit) return 0;
    const key = objectKey(object);
    const b = this.buckets.get(key) ?? new TokenBucket(1000 / limit.refillMs, limit.burst, now);
    this.touch(this.buckets, key, b);
    if (this.buckets.size > this.maxKeys) this.buckets.delete(this.buckets.keys().next().value!);
    return b.take(now);
  }

  /** Map order is recency order: re-inserting moves a key to the end. */
  private touch<V>(map: Map<string, V>, key: string, value: V): void {
    map.delete(key);
    map.set(key, value);
  }

  /** Forgets the least recently used idle entries; busy ones are bounded by the queue. */
  private evict(): void {
    for (const [key, e] of this.entries) {
      if (this.entries.size <= this.maxKeys) return;
      if (!e.queued && !e.inflight) this.entries.delete(key);
    }
  }

  private push(e: Entry): void {
    e.queued = true;
    this.queue.push(e);
    this.kick();
  }

  private kick(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.schedule(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    while (this.inflight < this.concurrency && this.queue.length > 0) {
      const e = this.queue.shift()!;
      e.queued = false;
      e.inflight = true;
      this.inflight++;
      void this.write(e).then(() => this.landed(e));
    }
  }

  private landed(e: Entry): void {
    e.inflight = false;
    this.inflight--;
    if (this.windowMs === 0) this.entries.delete(e.key);
    else if (this.entries.get(e.key) === e) this.enqueueUpdate(e, this.o.clock().getTime());
    // Keys that were busy when the map outgrew maxKeys can go now.
    this.evict();
    this.pump();
    if (this.queue.length === 0 && this.inflight === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** Never rejects. */
  private async write(e: Entry): Promise<void> {
    const count = e.count;
    const last = e.last;
    if (e.name !== undefined) {
      try {
        await this.o.sink.update(eventNamespace(e.input.object), e.name, {
          count,
          lastTimestamp: last.toISOString(),
        });
        e.written = count;
        return this.o.onWrite?.('update', true);
      } catch (err) {
        this.o.onWrite?.('update', false, err);
        if (!isNotFound(err)) return void (e.written = count);
        // Expired (the API server keeps Events an hour by default): start a new one.
        e.name = undefined;
      }
    }
    try {
      const body = eventBody(e.input, this.o.reporter, { first: e.first, last, count });
      e.name = await this.o.sink.create(body);
      e.written = count;
      this.o.onWrite?.('create', true);
    } catch (err) {
      this.o.onWrite?.('create', false, err);
      // Forget it: the next occurrence starts a new Event instead of bumping one that does not exist.
      if (this.entries.get(e.key) === e) this.entries.delete(e.key);
    }
  }
}
