import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { apiFailure, isGone, KubeError } from './errors.js';
import { requestJson, streamWatch } from './request.js';

export type InformerEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface InformerEvent<T> {
  type: InformerEventType;
  object: T;
  /** The cached object before a MODIFIED or DELETED event. */
  old?: T;
}

/** Read access to an informer's cache (an Informer, or a fixed list in tests). */
export interface Cache<T> {
  list(): T[];
  get(name: string, namespace?: string): T | undefined;
}

export interface InformerOptions<T = KubernetesObject> {
  /** Collection path, e.g. /api/v1/namespaces or /apis/sidecar.dev/v1alpha1/sidecarpolicies. */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  log?: Logger;
  /** Reconnect backoff after a failure: initial and maximum delay (jittered, doubling). */
  backoff?: { initialMs: number; maxMs: number };
  /** Server-side watch timeout range in seconds; each watch picks a random value in it. */
  watchTimeoutSeconds?: [number, number];
  random?: () => number;
  /**
   * Ask for PartialObjectMetadata only (metadata.* of each object, no spec or status): a cache of
   * every pod in a cluster stays small. Objects then have kind PartialObjectMetadata.
   */
  metadataOnly?: boolean;
  /** Applied to every object before it is cached (e.g. dropping managedFields). */
  transform?: (obj: T) => T;
}

/** Accept headers for metadata-only lists and watches, with plain JSON as the fallback. */
export const METADATA_LIST_ACCEPT =
  'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json';
export const METADATA_WATCH_ACCEPT =
  'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json';

interface ObjectList<T> {
  items: T[];
  metadata?: { resourceVersion?: string };
}

const keyOf = (o: KubernetesObject): string =>
  o.metadata?.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : (o.metadata?.name ?? '');

/**
 * List-then-watch cache of one collection, as client-go's reflector does it: resourceVersion is
 * tracked from every event and bookmark, a 410 Gone relists (delivering the difference as events),
 * any other failure reconnects after a jittered exponential backoff, and watches end server-side
 * after a randomised timeout so they never go quietly stale.
 */
export class Informer<T extends KubernetesObject> {
  private readonly cache = new Map<string, T>();
  private readonly handlers: ((e: InformerEvent<T>) => void)[] = [];
  private resourceVersion: string | undefined;
  private running = false;
  /** Aborted by stop(): ends the current watch and any backoff sleep. */
  private stopping = new AbortController();
  private failures = 0;
  private loop: Promise<void> | undefined;
  private resolveSynced!: () => void;
  /** Resolves once the first list has filled the cache. */
  readonly synced: Promise<void>;
  hasSynced = false;

  constructor(
    private readonly kc: KubeConfig,
    private readonly opts: InformerOptions<T>,
  ) {
    this.synced = new Promise((r) => (this.resolveSynced = r));
  }

  /** Adds a handler; it must not throw (errors are logged and dropped). */
  onEvent(handler: (e: InformerEvent<T>) => void): this {
    this.handlers.push(handler);
    return this;
  }

  start(): this {
    if (this.running) return this;
    this.running = true;
    this.stopping = new AbortController();
    this.loop = this.run();
    return this;
  }

  async stop(): Promise<void> {
    this.running = false;
    this.stopping.abort();
    await this.loop;
  }

  list(): T[] {
    return [...this.cache.values()];
  }

  get(name: string, namespace?: string): T | undefined {
    return this.cache.get(namespace ? `${namespace}/${name}` : name);
  }

  private emit(e: InformerEvent<T>): void {
    for (const h of this.handlers) {
      try {
        h(e);
      } catch (err) {
        this.opts.log?.error({ err, path: this.opts.path }, 'informer handler failed');
      }
    }
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        if (this.resourceVersion === undefined) await this.relist();
        await this.watchOnce();
        this.failures = 0;
      } catch (err) {
        if (!this.running) break;
        if (isGone(err)) {
          this.opts.log?.info({ path: this.opts.path }, 'watch expired, relisting');
          this.resourceVersion = undefined;
          continue;
        }
        this.failures++;
        const delay = this.backoff();
        this.opts.log?.warn(
          { path: this.opts.path, err: apiFailure(err), delayMs: delay },
          'watch failed, retrying',
        );
        if (this.failures > 1 || apiFailure(err).code !== 0) this.resourceVersion = undefined;
        await this.sleep(delay);
      }
    }
  }

  private backoff(): number {
    const { initialMs, maxMs } = this.opts.backoff ?? { initialMs: 200, maxMs: 30_000 };
    const base = Math.min(maxMs, initialMs * 2 ** Math.min(this.failures - 1, 20));
    return Math.round(base * (0.5 + (this.opts.random ?? Math.random)() / 2));
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const signal = this.stopping.signal;
      if (signal.aborted) return resolve();
      const timer = setTimeout(resolve, ms);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private async relist(): Promise<void> {
    const list = await requestJson<ObjectList<T>>(this.kc, {
      path: this.opts.path,
      query: { labelSelector: this.opts.labelSelector, fieldSelector: this.opts.fieldSelector },
      ...(this.opts.metadataOnly ? { accept: METADATA_LIST_ACCEPT } : {}),
      signal: this.stopping.signal,
    });
    const seen = new Set<string>();
    // A metadata-only list of nothing comes back with `items: null`.
    for (const raw of list.items ?? []) {
      const item = this.opts.transform ? this.opts.transform(raw) : raw;
      const key = keyOf(item);
      seen.add(key);
      const old = this.cache.get(key);
      this.cache.set(key, item);
      if (!old) this.emit({ type: 'ADDED', object: item });
      else if (old.metadata?.resourceVersion !== item.metadata?.resourceVersion)
        this.emit({ type: 'MODIFIED', object: item, old });
    }
    for (const [key, old] of [...this.cache]) {
      if (seen.has(key)) continue;
      this.cache.delete(key);
      this.emit({ type: 'DELETED', object: old, old });
    }
    this.resourceVersion = list.metadata?.resourceVersion;
    if (!this.hasSynced) {
      this.hasSynced = true;
      this.resolveSynced();
    }
  }

  private apply(type: string, obj: T): void {
    const key = keyOf(obj);
    const old = this.cache.get(key);
    if (type === 'DELETED') {
      this.cache.delete(key);
      this.emit({ type, object: obj, old });
      return;
    }
    this.cache.set(key, obj);
    this.emit({ type: old ? 'MODIFIED' : 'ADDED', object: obj, old });
  }

  private async watchOnce(): Promise<void> {
    const [lo, hi] = this.opts.watchTimeoutSeconds ?? [300, 600];
    const timeoutSeconds = Math.round(lo + (hi - lo) * (this.opts.random ?? Math.random)());
    let failure: Error | undefined;
    await streamWatch<T & { code?: number; message?: string }>(
      this.kc,
      {
        path: this.opts.path,
        query: {
          resourceVersion: this.resourceVersion,
          allowWatchBookmarks: true,
          timeoutSeconds,
          labelSelector: this.opts.labelSelector,
          fieldSelector: this.opts.fieldSelector,
        },
        ...(this.opts.metadataOnly ? { accept: METADATA_WATCH_ACCEPT } : {}),
        signal: this.stopping.signal,
      },
      ({ type, object }) => {
        if (type === 'ERROR') {
          // A metav1.Status: 410 Expired asks for a relist, anything else for a reconnect.
          failure = new KubeError(`watch ${this.opts.path}`, apiFailure(object));
          return;
        }
        const rv = object.metadata?.resourceVersion;
        if (rv) this.resourceVersion = rv;
        if (type !== 'BOOKMARK') this.apply(type, this.opts.transform ? this.opts.transform(object) : object);
      },
    );
    if (failure) throw failure;
  }
}
