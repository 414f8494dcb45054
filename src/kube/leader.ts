import type { KubeConfig, V1Lease } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { isAlreadyExists, isConflict, isNotFound } from './errors.js';
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

/** metav1.MicroTime: RFC 3339 with exactly six fractional digits. */
function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it: expiry
 * is judged by when *we* last saw the record change (local clock only, so clock skew between
 * replicas does not matter); every write carries the resourceVersion read, so two candidates never
 * both win; a leader that cannot renew within the deadline stops leading; stop() releases the lease
 * so a successor takes over at its next retry instead of after the lease duration.
 */
export class LeaderElector {
  private leading = false;
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private observed: { key: string; at: number } | undefined;
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
      const ok = await this.tryAcquireOrRenew().catch((err: unknown) => {
        this.o.log.warn({ err }, 'lease request failed');
        return false;
      });
      if (!this.running) break;
      const now = this.now();
      if (ok) {
        this.lastRenew = now;
        if (!this.leading) {
          this.leading = true;
          this.o.log.info({ lease: this.o.name, identity: this.o.identity }, 'became leader');
          // Not awaited (client-go runs it in a goroutine): starting the controller waits for its
          // caches, and the lease must keep being renewed meanwhile.
          void this.callback(this.o.onStartedLeading);
        }
      } else if (this.leading && now - this.lastRenew > this.deadlineMs) {
        this.leading = false;
        this.o.log.warn({ lease: this.o.name }, 'leadership lost: lease not renewed within the deadline');
        await this.callback(this.o.onStoppedLeading);
      }
      // A candidate waits a little longer than the period so candidates spread out (client-go: 1.2).
      await this.sleep(this.leading ? this.retryMs : this.retryMs * (1 + Math.random() * 0.2));
    }
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
    return AbortSignal.timeout(Math.max(500, Math.min(left, this.deadlineMs)));
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = new Date(this.now());
    let lease: V1Lease | undefined;
    try {
      lease = await requestJson<V1Lease>(this.o.kc, { path: this.path, signal: this.requestSignal() });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    if (!lease) {
      const created = await this.write('POST', undefined, true, now);
      return created;
    }
    const holder = lease.spec?.holderIdentity ?? '';
    const key = `${holder}/${String(lease.spec?.renewTime)}`;
    if (this.observed?.key !== key) this.observed = { key, at: now.getTime() };
    if (holder !== this.lastHolder) {
      this.lastHolder = holder;
      if (holder) this.o.onLeaderChanged?.(holder);
    }
    const mine = holder === this.o.identity;
    const duration = (lease.spec?.leaseDurationSeconds ?? 0) * 1000;
    if (holder && !mine && this.observed.at + duration > now.getTime()) return false;
    return this.write('PUT', lease, !mine, now);
  }

  private async write(
    method: 'POST' | 'PUT',
    lease: V1Lease | undefined,
    acquire: boolean,
    now: Date,
  ): Promise<boolean> {
    const body = this.body(lease, acquire, now);
    try {
      const path = method === 'POST' ? this.path.replace(/\/[^/]+$/, '') : this.path;
      await requestJson(this.o.kc, { method, path, body, signal: this.requestSignal() });
      return true;
    } catch (err) {
      // Another candidate wrote first: a stale resourceVersion, or a create that lost the race.
      if (isConflict(err) || isAlreadyExists(err)) return false;
      throw err;
    }
  }

  /** Gives the lease up: empty holder, so any candidate may take it at once. */
  private async release(): Promise<void> {
    try {
      const lease = await requestJson<V1Lease>(this.o.kc, { path: this.path });
      if (lease.spec?.holderIdentity !== this.o.identity) return;
      const now = new Date(this.now());
      const body = this.body(lease, false, now);
      body.spec = { ...body.spec, holderIdentity: '', leaseDurationSeconds: 1 };
      await requestJson(this.o.kc, { method: 'PUT', path: this.path, body });
      this.o.log.info({ lease: this.o.name }, 'lease released');
    } catch (err) {
      this.o.log.warn({ err }, 'lease not released');
    }
  }
}
