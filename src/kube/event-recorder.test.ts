import { describe, expect, it } from 'vitest';
import { QueuedEventRecorder, type EventRecorderOptions } from './event-recorder.js';
import type { EventBody, EventInput, EventSink } from './events.js';
import { KubeError } from './errors.js';

interface Call {
  verb: 'create' | 'update';
  name: string;
  count: number;
  body?: EventBody;
  lastTimestamp: string;
  settle: (err?: Error) => void;
}

/** A sink whose writes stay pending until the test settles them, to see what runs concurrently. */
function manualSink(): EventSink & { calls: Call[]; pending: () => Call[] } {
  const calls: Call[] = [];
  const open = new Set<Call>();
  let n = 0;
  const track = (call: Omit<Call, 'settle'>) =>
    new Promise<void>((resolve, reject) => {
      const c: Call = {
        ...call,
        settle: (err) => {
          open.delete(c);
          if (err) reject(err);
          else resolve();
        },
      };
      calls.push(c);
      open.add(c);
    });
  return {
    calls,
    pending: () => [...open],
    async create(body) {
      const name = `${body.involvedObject.name}.${n++}`;
      await track({ verb: 'create', name, count: body.count, body, lastTimestamp: body.lastTimestamp });
      return name;
    },
    async update(_ns, name, change) {
      await track({ verb: 'update', name, count: change.count, lastTimestamp: change.lastTimestamp });
    },
  };
}

/** A sink that answers at once. */
function instantSink(): EventSink & { calls: Omit<Call, 'settle'>[] } {
  const calls: Omit<Call, 'settle'>[] = [];
  let n = 0;
  return {
    calls,
    create(body) {
      const name = `${body.involvedObject.name}.${n++}`;
      calls.push({ verb: 'create', name, count: body.count, body, lastTimestamp: body.lastTimestamp });
      return Promise.resolve(name);
    },
    update(_ns, name, change) {
      calls.push({ verb: 'update', name, count: change.count, lastTimestamp: change.lastTimestamp });
      return Promise.resolve();
    },
  };
}

function harness(sink: EventSink, extra: Partial<EventRecorderOptions> = {}) {
  let now = Date.parse('2026-01-01T00:00:00Z');
  const drops: string[] = [];
  const timers: { at: number; fn: () => void }[] = [];
  let aggregated = 0;
  const recorder = new QueuedEventRecorder({
    sink,
    reporter: { component: 'sidecar-operator-webhook', instance: 'replica-a' },
    clock: () => new Date(now),
    onDrop: (r) => drops.push(r),
    onAggregate: () => aggregated++,
    setTimer: (fn, ms) => timers.push({ at: now + ms, fn }),
    ...extra,
  });
  return {
    recorder,
    drops,
    aggregated: () => aggregated,
    advance(ms: number) {
      now += ms;
      for (const t of timers.filter((t) => t.at <= now)) {
        timers.splice(timers.indexOf(t), 1);
        t.fn();
      }
    },
  };
}

const rs = (name: string) => ({
  apiVersion: 'apps/v1',
  kind: 'ReplicaSet',
  name,
  uid: `uid-${name}`,
  namespace: 'apps',
});
const injected = (owner = 'web-1', message = 'pod injected with policy mesh revision r1'): EventInput => ({
  object: rs(owner),
  type: 'Normal',
  reason: 'Injected',
  message,
});
const tick = () => new Promise((r) => setImmediate(r));

describe('QueuedEventRecorder', () => {
  it('never makes the caller wait: record returns before any write starts', async () => {
    const sink = manualSink();
    const { recorder } = harness(sink);
    recorder.record(injected());
    expect(sink.calls).toHaveLength(0);
    expect(recorder.depth).toBe(1);
    await tick();
    expect(sink.calls).toHaveLength(1);
    // A write that never answers does not hold up further records.
    for (let i = 0; i < 100; i++) recorder.record(injected(`w-${i}`));
    expect(recorder.depth).toBeGreaterThan(90);
  });

  it('writes a core/v1 Event naming the reporter and the replica', async () => {
    const sink = instantSink();
    const { recorder } = harness(sink);
    recorder.record(injected());
    await recorder.idle();
    expect(sink.calls[0]?.body).toMatchObject({
      metadata: { generateName: 'web-1.', namespace: 'apps' },
      involvedObject: rs('web-1'),
      type: 'Normal',
      reason: 'Injected',
      source: { component: 'sidecar-operator-webhook', host: 'replica-a' },
      reportingComponent: 'sidecar-operator-webhook',
      reportingInstance: 'replica-a',
      count: 1,
      firstTimestamp: '2026-01-01T00:00:00.000Z',
    });
  });

  it('folds identical occurrences into one Event whose count goes up', async () => {
    const sink = instantSink();
    const h = harness(sink);
    h.recorder.record(injected());
    h.recorder.record(injected()); // still queued: carried by the create
    await h.recorder.idle();
    expect(sink.calls.map((c) => [c.verb, c.count])).toEqual([['create', 2]]);
    h.advance(30_000);
    h.recorder.record(injected());
    await h.recorder.idle();
    expect(sink.calls.map((c) => [c.verb, c.name, c.count])).toEqual([
      ['create', 'web-1.0', 2],
      ['update', 'web-1.0', 3],
    ]);
    expect(sink.calls[1]?.lastTimestamp).toBe('2026-01-01T00:00:30.000Z');
    expect(h.aggregated()).toBe(2);
  });

  it('keeps distinct messages, reasons and owners apart', async () => {
    const sink = instantSink();
    const { recorder } = harness(sink);
    recorder.record(injected());
    recorder.record(injected('web-1', 'pod injected with policy mesh revision r2'));
    recorder.record({ ...injected(), reason: 'InjectionSkipped' });
    recorder.record(injected('web-2'));
    await recorder.idle();
    expect(sink.calls.filter((c) => c.verb === 'create')).toHaveLength(4);
  });

  it('starts a new Event once the aggregation window closed', async () => {
    const sink = instantSink();
    const h = harness(sink, { aggregateWindowMs: 60_000 });
    h.recorder.record(injected());
    await h.recorder.idle();
    h.advance(60_000);
    h.recorder.record(injected());
    await h.recorder.idle();
    expect(sink.calls.map((c) => [c.verb, c.count])).toEqual([
      ['create', 1],
      ['create', 1],
    ]);
  });

  it('follows up a count that grew while the create was in flight', async () => {
    const sink = manualSink();
    const h = harness(sink);
    h.recorder.record(injected());
    await tick();
    h.recorder.record(injected());
    h.recorder.record(injected());
    expect(sink.calls).toHaveLength(1);
    sink.pending()[0]!.settle();
    await tick();
    await tick();
    expect(sink.calls.map((c) => [c.verb, c.count])).toEqual([
      ['create', 1],
      ['update', 3],
    ]);
    sink.pending()[0]!.settle();
    await h.recorder.idle();
  });

  it('creates a new Event when the aggregated one expired on the server', async () => {
    const sink = manualSink();
    const h = harness(sink);
    h.recorder.record(injected());
    await tick();
    sink.pending()[0]!.settle();
    await h.recorder.idle();
    h.recorder.record(injected());
    await tick();
    sink.pending()[0]!.settle(KubeError.fromResponse('PUT event', 404, '{"reason":"NotFound"}'));
    await tick();
    await tick();
    expect(sink.calls.map((c) => [c.verb, c.count])).toEqual([
      ['create', 1],
      ['update', 2],
      ['create', 2],
    ]);
    sink.pending()[0]!.settle();
    await h.recorder.idle();
  });

  it('drops new Events past the queue bound and counts them', () => {
    const sink = manualSink();
    const h = harness(sink, { maxQueue: 3, concurrency: 1 });
    for (let i = 0; i < 10; i++) h.recorder.record(injected(`w-${i}`));
    expect(h.recorder.depth).toBe(3);
    expect(h.drops).toEqual(Array(7).fill('queue_full'));
    // Occurrences of an Event already queued are not new Events: folded, never dropped.
    h.recorder.record(injected('w-0'));
    expect(h.drops).toHaveLength(7);
  });

  it('writes at most `concurrency` at once', async () => {
    const sink = manualSink();
    const { recorder } = harness(sink, { concurrency: 2 });
    for (let i = 0; i < 5; i++) recorder.record(injected(`w-${i}`));
    await tick();
    expect(sink.pending()).toHaveLength(2);
    sink.pending()[0]!.settle();
    await tick();
    expect(sink.pending()).toHaveLength(2);
    expect(sink.calls).toHaveLength(3);
  });

  it('rate limits each owner: new Events past the burst are dropped, other owners unaffected', async () => {
    const sink = instantSink();
    const h = harness(sink, { rateLimit: { burst: 3, refillMs: 10_000 } });
    for (let i = 0; i < 5; i++) h.recorder.record(injected('web-1', `message ${i}`));
    h.recorder.record(injected('web-2'));
    await h.recorder.idle();
    expect(h.drops).toEqual(['rate_limited', 'rate_limited']);
    expect(sink.calls.map((c) => c.body?.involvedObject.name)).toEqual(['web-1', 'web-1', 'web-1', 'web-2']);
    h.advance(10_000); // one token back
    h.recorder.record(injected('web-1', 'message 5'));
    h.recorder.record(injected('web-1', 'message 6'));
    await h.recorder.idle();
    expect(sink.calls).toHaveLength(5);
    expect(h.drops).toHaveLength(3);
  });

  it('defers a rate-limited count bump until a token is due, then writes the whole count', async () => {
    const sink = instantSink();
    const h = harness(sink, { rateLimit: { burst: 2, refillMs: 10_000 } });
    h.recorder.record(injected());
    await h.recorder.idle();
    h.recorder.record(injected());
    await h.recorder.idle();
    for (let i = 0; i < 5; i++) h.recorder.record(injected());
    await h.recorder.idle();
    expect(sink.calls.map((c) => [c.verb, c.count])).toEqual([
      ['create', 1],
      ['update', 2],
    ]);
    expect(h.drops).toEqual([]);
    h.advance(10_000);
    await h.recorder.idle();
    await tick();
    expect(sink.calls.map((c) => [c.verb, c.count])).toEqual([
      ['create', 1],
      ['update', 2],
      ['update', 7],
    ]);
  });

  it('with aggregation off, writes every occurrence as its own Event', async () => {
    const sink = instantSink();
    const { recorder } = harness(sink, { aggregateWindowMs: 0 });
    for (let i = 0; i < 3; i++) recorder.record(injected());
    await recorder.idle();
    expect(sink.calls.map((c) => [c.verb, c.count])).toEqual([
      ['create', 1],
      ['create', 1],
      ['create', 1],
    ]);
  });

  it('survives failing writes and reports them', async () => {
    const results: string[] = [];
    const sink: EventSink = {
      create: () => Promise.reject(KubeError.fromResponse('POST event', 403, 'forbidden')),
      update: () => Promise.reject(new Error('unreachable')),
    };
    const { recorder } = harness(sink, { onWrite: (verb, ok) => results.push(`${verb}:${ok}`) });
    recorder.record(injected());
    await recorder.idle();
    recorder.record(injected()); // forgotten after the failure: a new create, not an update
    await recorder.idle();
    expect(results).toEqual(['create:false', 'create:false']);
  });

  it('stop waits for accepted writes, then refuses new Events', async () => {
    const sink = manualSink();
    const h = harness(sink);
    h.recorder.record(injected());
    await tick();
    let stopped = false;
    const stopping = h.recorder.stop(5000).then(() => (stopped = true));
    h.recorder.record(injected('web-2'));
    expect(h.drops).toEqual(['stopped']);
    await tick();
    expect(stopped).toBe(false);
    sink.pending()[0]!.settle();
    await stopping;
    expect(stopped).toBe(true);
  });

  it('forgets the least recently used idle keys past maxKeys', async () => {
    const sink = instantSink();
    const { recorder } = harness(sink, { maxKeys: 2 });
    recorder.record(injected('a'));
    recorder.record(injected('b'));
    recorder.record(injected('c'));
    await recorder.idle();
    recorder.record(injected('a')); // forgotten: a new Event rather than a count bump
    await recorder.idle();
    expect(sink.calls.map((c) => `${c.verb}:${c.body?.involvedObject.name ?? c.name}`)).toEqual([
      'create:a',
      'create:b',
      'create:c',
      'create:a',
    ]);
  });
});
