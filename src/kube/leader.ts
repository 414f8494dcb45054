import type { KubeConfig, V1Lease } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { isAlreadyExists, isConflict, isInvalid, isNotFound } from './errors.js';
import { decideLease, observe, type LeaseRecord, type Observed } from './lease-decision.js';
import { requestJson } from './request.js';

export interface LeaderElectionOptions {
  kc: KubeConfig;
  namespace: string;
  /** Name of the Lease. */
  name: string;
  /** This replica's identity (pod name, or host + random suffix). */
  identity: string;
  log: Logger;
  /** How long a lease is honoured after its last renewal (default 15 s). */
  leaseDurationMs?: number;
  /** A leader that has not renewed for this long gives up (default 10 s). */
  renewDeadlineMs?: number;
  /** Interval between attempts to acquire or renew (default 2 s). */
  retryPeriodMs?: number;
  onStartedLeading: () => void | Promise<void>;
  onStoppedLeading: () => void | Promise<void>;
  onLeaderChanged?: (identity: string) => void;
  /** The local clock (milliseconds) expiry and renew deadlines are judged by; default Date.now. */
  now?: () => number;
}

/** One attempt: the lease is (still) ours; or, for a leader, why it is not any more. */
interface Outcome {
  held: boolean;
  lost?: string;
}

function recordOf(lease: V1Lease): LeaseRecord {
  return {
    holder: lease.spec?.holderIdentity ?? '',
    resourceVersion: lease.metadata?.resourceVersion ?? '',
    durationMs: (lease.spec?.leaseDurationSeconds ?? 0) * 1000,
  };
}

type WriteResult = 'written' | 'raced' | 'gone';

/** metav1.MicroTime: RFC 3339 with exactly six fractional digits. */
function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/**
 * Leader election on a coordination.k8s.io/v1 Lease. As client-go's leaderelection: expiry is judged
 * by when *we* last saw the record change (local clock only, so clock skew between replicas does not
 * matter); every write carries the resourceVersion read, so two candidates never both win; a leader
 * that cannot renew within the deadline stops leading; stop() releases the lease. Unlike it, a
 * leader steps down at the first attempt that finds the Lease deleted or naming another, and a
 * candidate never takes a Lease (nor re-creates a deleted one) before the record it last saw has
 * expired: see lease-decision.ts. onStoppedLeading is awaited before the next attempt, so what the
 * leader ran has stopped before it campaigns again.
 */
export class LeaderElector {
  private leading = false;
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private observed: Observed | undefined;
  private lastRenew = 0;
  private lastHolder = '';
  private readonly leaseMs: number;
  private readonly deadlineMs: number;
  private readonly retryMs: number;
  private readonly now: () => number;

  constructor(private readonly o: LeaderElectionOptions) {
    this.now = o.now ?? Date.now;
    this.leaseMs = o.leaseDurationMs ?? 15_000;
    this.deadlineMs = o.renewDeadlineMs ?? 10_000;
    this.retryMs = o.retryPeriodMs ?? 2_000;
    if (this.deadlineMs >= this.leaseMs)
      throw new Error('renew deadline must be shorter than the lease duration');
  }

  get isLeader(): boolean {
    return this.leading;
  }

  private get path(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${this.o.namespace}/leases/${this.o.name}`;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Stops campaigning; a leader stops leading and releases the lease. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    if (this.leading) {
      this.leading = false;
      await this.callback(this.o.onStoppedLeading);
      await this.release();
    }
  }

  private async run(): Promise<void> {
    while (this.running) {
      // Others time the lease from when they see our write, never before we sent it: a renewal
      // counts from the start of its attempt, however long the API server took to answer.
      const started = this.now();
      const outcome = await this.tryAcquireOrRenew().catch((err: unknown): Outcome => {
        this.o.log.warn({ err }, 'lease request failed');
        return { held: false };
      });
      if (!this.running) break;
      const now = this.now();
      if (outcome.held) {
        this.lastRenew = started;
        if (!this.leading) {
          this.leading = true;
          this.o.log.info({ lease: this.o.name, identity: this.o.identity }, 'became leader');
          // Not awaited (client-go runs it in a goroutine): starting the controller waits for its
          // caches, and the lease must keep being renewed meanwhile.
          void this.callback(this.o.onStartedLeading);
        }
      } else if (this.leading && outcome.lost) {
        await this.stepDown(outcome.lost);
      } else if (this.leading && now - this.lastRenew > this.deadlineMs) {
        await this.stepDown('the lease was not renewed within the deadline');
      }
      // A candidate waits a little longer than the period so candidates spread out (client-go: 1.2).
      // A leader that has not renewed wakes at its deadline, not a period later, to step down on time.
      await this.sleep(
        this.leading
          ? Math.min(this.retryMs, Math.max(0, this.lastRenew + this.deadlineMs + 1 - this.now()))
          : this.retryMs * (1 + Math.random() * 0.2),
      );
    }
  }

  /** Stops what leadership started, and only then goes on campaigning. */
  private async stepDown(reason: string): Promise<void> {
    this.leading = false;
    this.o.log.warn({ lease: this.o.name, reason }, 'leadership lost');
    await this.callback(this.o.onStoppedLeading);
    this.o.log.info({ lease: this.o.name }, 'stopped leading');
  }

  private async callback(fn: () => void | Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.o.log.error({ err }, 'leader election callback failed');
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  private body(lease: V1Lease | undefined, acquire: boolean, now: Date): V1Lease {
    const spec = lease?.spec ?? {};
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name: this.o.name,
        namespace: this.o.namespace,
        ...(lease?.metadata?.resourceVersion ? { resourceVersion: lease.metadata.resourceVersion } : {}),
      },
      spec: {
        holderIdentity: this.o.identity,
        leaseDurationSeconds: Math.ceil(this.leaseMs / 1000),
        acquireTime: (acquire ? microTime(now) : spec.acquireTime) as unknown as Date,
        renewTime: microTime(now) as unknown as Date,
        leaseTransitions: (spec.leaseTransitions ?? 0) + (acquire && lease ? 1 : 0),
      },
    };
  }

  /**
   * Every lease request is bounded: a leader must find out within its renew deadline that it could
   * not renew (a request hanging for minutes would keep it reconciling after a successor took over).
   */
  private requestSignal(): AbortSignal {
    const left = this.leading ? this.deadlineMs - (this.now() - this.lastRenew) : this.deadlineMs;
    return AbortSignal.timeout(Math.max(1, Math.min(left, this.deadlineMs)));
  }

  private async read(): Promise<V1Lease | undefined> {
    try {
      return await requestJson<V1Lease>(this.o.kc, { path: this.path, signal: this.requestSignal() });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  private async tryAcquireOrRenew(): Promise<Outcome> {
    // A leader's renewal that loses a race re-reads once: a write that left the holder alone (a
    // label added by hand) must not cost the leadership; one that changed it is seen on the re-read.
    for (let attempt = 0; ; attempt++) {
      // Seen when the answer came: the record may have been written just before.
      const lease = await this.read();
      const now = this.now();
      const record = lease && recordOf(lease);
      if (record) {
        this.observed = observe(record, this.observed, now);
        if (record.holder !== this.lastHolder) {
          this.lastHolder = record.holder;
          if (record.holder) this.o.onLeaderChanged?.(record.holder);
        }
      }
      const action = decideLease({
        leading: this.leading,
        identity: this.o.identity,
        lease: record,
        observed: this.observed,
        now,
      });
      switch (action.do) {
        case 'step-down':
          return { held: false, lost: action.reason };
        case 'wait':
          return { held: false };
        case 'create':
          return { held: (await this.write(undefined, true, new Date(now))) === 'written' };
        case 'acquire':
          return { held: (await this.write(lease, true, new Date(now))) === 'written' };
        case 'renew': {
          const result = await this.write(lease, false, new Date(now));
          if (result === 'written') return { held: true };
          if (result === 'gone') return { held: false, lost: 'the Lease was deleted' };
          if (attempt > 0) return { held: false, lost: 'the Lease kept changing under the renewal' };
        }
      }
    }
  }

  /**
   * Creates the Lease (POST), or takes or renews the one read: a JSON Patch under a test of the
   * resourceVersion read, never a PUT, which the API server would turn into a create for a Lease
   * deleted meanwhile (a leader must notice the deletion, not undo it).
   */
  private async write(lease: V1Lease | undefined, acquire: boolean, now: Date): Promise<WriteResult> {
    const body = this.body(lease, acquire, now);
    try {
      if (!lease) {
        const path = this.path.replace(/\/[^/]+$/, '');
        await requestJson(this.o.kc, { method: 'POST', path, body, signal: this.requestSignal() });
      } else {
        await this.patchSpec(lease, body.spec, this.requestSignal());
      }
      return 'written';
    } catch (err) {
      // Another wrote first: a resourceVersion that moved (the test fails), a create that lost.
      if (isConflict(err) || isInvalid(err) || isAlreadyExists(err)) return 'raced';
      if (isNotFound(err)) return 'gone';
      throw err;
    }
  }

  /** Replaces the Lease's spec if it is still the version read (a JSON Patch under a test). */
  private async patchSpec(lease: V1Lease, spec: V1Lease['spec'], signal?: AbortSignal): Promise<void> {
    await requestJson(this.o.kc, {
      method: 'PATCH',
      path: this.path,
      body: [
        { op: 'test', path: '/metadata/resourceVersion', value: lease.metadata?.resourceVersion ?? '' },
        { op: 'replace', path: '/spec', value: spec },
      ],
      contentType: 'application/json-patch+json',
      ...(signal ? { signal } : {}),
    });
  }

  /** Gives the lease up: empty holder, so any candidate may take it at once. */
  private async release(): Promise<void> {
    try {
      const lease = await requestJson<V1Lease>(this.o.kc, { path: this.path });
      if (lease.spec?.holderIdentity !== this.o.identity) return;
      const now = new Date(this.now());
      const body = this.body(lease, false, now);
      body.spec = { ...body.spec, holderIdentity: '', leaseDurationSeconds: 1 };
      // The same JSON Patch as a renewal: only the Lease as read is released, and RBAC needs only patch.
      await this.patchSpec(lease, body.spec);
      this.o.log.info({ lease: this.o.name }, 'lease released');
    } catch (err) {
      this.o.log.warn({ err }, 'lease not released');
    }
  }
}
