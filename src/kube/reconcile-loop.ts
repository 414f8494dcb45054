import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createControllerMetrics, type ControllerMetrics } from './controller-metrics.js';
import { WorkQueue } from './queue.js';
import { describeObject, failuresOf, retryAction } from './step-failure.js';

export interface ReconcileResult {
  requeueAfterMs?: number;
}

/** A failure nothing but an edit of the object can fix: reported, not retried. */
export class TerminalError extends Error {}

/** Level-based: the request is only a key; the reconciler re-reads whatever it needs. */
export interface KeyReconciler {
  reconcile(key: string): Promise<ReconcileResult>;
}

export interface ReconcileLoopOptions {
  /** The controller's name in metrics (`controller`, `name` labels). */
  name: string;
  log: Logger;
  registry: Registry;
  reconciler: KeyReconciler;
  /** Parallel reconciles of different keys (default 4). */
  workers?: number;
  /** Per-key retry backoff (default 5 ms doubling to 5 min). */
  backoff?: { baseDelayMs: number; maxDelayMs: number };
  /** Overall limit on retries (default 10/s, burst 100). */
  rateLimit?: { qps: number; burst: number };
}

/**
 * controller-runtime's controller loop: a work queue of keys, workers that reconcile them, and the
 * mapping of outcomes to actions. Success forgets the key's failures (and requeues after a delay
 * when asked); a terminal error is logged once and not retried; a conflict is requeued with the
 * key's backoff and logged at debug; anything else backs off and is logged with its failures.
 */
export class ReconcileLoop {
  private readonly metrics: ControllerMetrics;
  private readonly queue: WorkQueue<string>;
  private readonly workers: Promise<void>[] = [];
  private running = false;
  private active = 0;

  constructor(private readonly o: ReconcileLoopOptions) {
    this.metrics = createControllerMetrics(o.registry);
    const depth = this.metrics.queueDepth.labels(o.name);
    const retries = this.metrics.queueRetries.labels(o.name);
    this.queue = new WorkQueue<string>({
      ...(o.backoff ?? {}),
      ...(o.rateLimit ? { rateLimit: o.rateLimit } : {}),
      onDepth: (d) => depth.set(d),
      onRetry: () => retries.inc(),
    });
  }

  get isRunning(): boolean {
    return this.running;
  }

  add(key: string): void {
    if (!this.running) return;
    this.metrics.queueAdds.labels(this.o.name).inc();
    this.queue.add(key);
  }

  addAfter(key: string, ms: number): void {
    if (!this.running) return;
    this.metrics.queueAdds.labels(this.o.name).inc();
    this.queue.addAfter(key, ms);
  }

  /** Resolves once no key waits and none is being reconciled (delayed re-adds aside). */
  async idle(pollMs = 10): Promise<void> {
    while (this.running && (this.queue.length > 0 || this.active > 0)) {
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  /** Accepts keys from now on (call before the caches' first events are routed here). */
  open(): void {
    this.running = true;
  }

  /** Starts the workers. */
  start(): void {
    this.running = true;
    for (let i = 0; i < (this.o.workers ?? 4); i++) this.workers.push(this.work());
  }

  async stop(): Promise<void> {
    this.running = false;
    this.queue.shutDown();
    await Promise.all(this.workers.splice(0));
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      this.active++;
      try {
        await this.process(key);
      } finally {
        this.active--;
        this.queue.done(key);
      }
    }
  }

  private async process(key: string): Promise<void> {
    const name = this.o.name;
    const end = this.metrics.reconcileTime.labels(name).startTimer();
    const total = (result: string) => this.metrics.reconcileTotal.labels(name, result).inc();
    try {
      const res = await this.o.reconciler.reconcile(key);
      this.queue.forget(key);
      if (res.requeueAfterMs !== undefined) {
        this.queue.addAfter(key, res.requeueAfterMs);
        total('requeue_after');
      } else {
        total('success');
      }
    } catch (err) {
      if (err instanceof TerminalError) {
        this.queue.forget(key);
        total('error');
        this.o.log.warn(
          { policy: key, reason: err.message },
          'policy cannot be reconciled until it is edited',
        );
        return;
      }
      if (!this.running) return;
      this.retry(key, err, total);
    } finally {
      end();
    }
  }

  private retry(key: string, err: unknown, total: (result: string) => void): void {
    const failures = failuresOf(err, key);
    const delayMs = this.queue.addRateLimited(key);
    this.metrics.reconcileErrors.labels(this.o.name).inc();
    if (retryAction(failures) === 'requeue') {
      total('requeue');
      this.o.log.debug({ policy: key, delayMs }, 'conflict, requeued');
      return;
    }
    total('error');
    this.o.log.warn(
      {
        policy: key,
        failures: failures.map((f) => ({ step: f.step, object: describeObject(f.object), ...f.failure })),
        delayMs,
        ...(failures.some((f) => f.step === 'reconcile') ? { err } : {}),
      },
      'reconcile failed, retrying',
    );
  }
}
