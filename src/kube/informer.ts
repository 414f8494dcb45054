import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { apiFailure, isGone, KubeError } from './errors.js';
import { ObjectStore } from './object-store.js';
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
  /**
   * Applied to every object before it is cached, after managedFields were dropped (they never are
   * kept): e.g. keeping only what the cache's readers need.
   */
  transform?: (obj: T) => T;
  /** Objects per list page (default 500). */
  pageSize?: number;
}

/** Accept headers for metadata-only lists and watches, with plain JSON as the fallback. */
export const METADATA_LIST_ACCEPT =
  'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json';
export const METADATA_WATCH_ACCEPT =
  'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json';

/** Objects per list page unless an informer asks otherwise. */
export const DEFAULT_PAGE_SIZE = 500;

interface ObjectList<T> {
  items: T[] | null;
  metadata?: { resourceVersion?: string; continue?: string };
}

export interface PageQuery {
  limit: number;
  continueToken?: string;
  /** The last resourceVersion the informer saw: the list may be served from the watch cache. */
  notOlderThan?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

/**
 * The query of one list page. The first page of a relist asks for a state not older than the last
 * one seen (`resourceVersionMatch=NotOlderThan`), which the API server answers from its watch cache
 * instead of a quorum read of etcd; the next pages carry only the continue token (the server fixes
 * their resourceVersion to the first page's) and the same selectors.
 */
export function pageQuery(q: PageQuery): Record<string, string | number | undefined> {
  const selectors = { labelSelector: q.labelSelector, fieldSelector: q.fieldSelector };
  if (q.continueToken) return { limit: q.limit, continue: q.continueToken, ...selectors };
  if (q.notOlderThan)
    return {
      limit: q.limit,
      resourceVersion: q.notOlderThan,
      resourceVersionMatch: 'NotOlderThan',
      ...selectors,
    };
  return { limit: q.limit, ...selectors };
}

/** Drops metadata.managedFields in place: often larger than the rest of the metadata, never read. */
export function stripManagedFields<T extends KubernetesObject>(obj: T): T {
  if (obj.metadata && 'managedFields' in obj.metadata) delete obj.metadata.managedFields;
  return obj;
}

/**
 * List-then-watch cache of one collection, as client-go's reflector does it: lists are paginated
 * (`limit`/`continue`, a 410 on an expired continue token restarts the list), every object loses its
 * managedFields before it is cached, resourceVersion is tracked from every event and bookmark, a
 * 410 Gone relists from the last resourceVersion seen (`NotOlderThan`, served from the API server's
 * watch cache), any other failure reconnects after a jittered exponential backoff, and watches end
 * server-side after a randomised timeout so they never go quietly stale. A relist replaces the cache
 * page by page, delivering the difference as events: it never holds a second copy of the collection.
 */
export class Informer<T extends KubernetesObject> {
  private readonly store = new ObjectStore<T>();
  private readonly handlers: ((e: InformerEvent<T>) => void)[] = [];
  /** Where the next watch starts; undefined when a relist must come first. */
  private resourceVersion: string | undefined;
  /** The last resourceVersion seen, for a relist's `NotOlderThan`; undefined for a quorum read. */
  private lastSeen: string | undefined;
  private running = false;
  /** Aborted by stop(): ends the current watch and any backoff sleep. */
  private stopping = new AbortController();
  private failures = 0;
  private loop: Promise<void> | undefined;
  private resolveSynced!: () => void;
  /** Resolves once the first list has filled the cache. */
  readonly synced: Promise<void>;
  hasSynced = false;
  /** List pages requested, lists restarted after an expired continue token, relists. */
  readonly stats = { pages: 0, listRestarts: 0, relists: 0 };

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
    return [...this.store.values()];
  }

  get(name: string, namespace?: string): T | undefined {
    return this.store.get(name, namespace);
  }

  /** The cached objects of one namespace, without copying. */
  inNamespace(namespace: string): Iterable<T> {
    return this.store.inNamespace(namespace);
  }

  get size(): number {
    return this.store.size;
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

  private prepare(raw: T): T {
    const obj = stripManagedFields(raw);
    return this.opts.transform ? this.opts.transform(obj) : obj;
  }

  private async run(): Promise<void> {
    while (this.running) {
      let listing = false;
      try {
        if (this.resourceVersion === undefined) {
          listing = true;
          await this.relist();
          listing = false;
        }
        await this.watchOnce();
        this.failures = 0;
      } catch (err) {
        if (!this.running) break;
        // A relist from the last resourceVersion that fails (e.g. 504 "too large resource version"
        // after the server was restored from a backup) is retried as a quorum read.
        if (listing) this.lastSeen = undefined;
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

  private fetchPage(query: PageQuery): Promise<ObjectList<T>> {
    this.stats.pages++;
    return requestJson<ObjectList<T>>(this.kc, {
      path: this.opts.path,
      query: pageQuery(query),
      ...(this.opts.metadataOnly ? { accept: METADATA_LIST_ACCEPT } : {}),
      signal: this.stopping.signal,
    });
  }

  /**
   * Lists the collection page by page into the cache: each page's objects replace the cached ones as
   * they arrive (ADDED, or MODIFIED when their resourceVersion moved), and once the last page is in,
   * the objects no page named are removed (DELETED). Only one page is ever held besides the cache.
   */
  private async relist(): Promise<void> {
    this.stats.relists++;
    const limit = this.opts.pageSize ?? DEFAULT_PAGE_SIZE;
    const selectors = { labelSelector: this.opts.labelSelector, fieldSelector: this.opts.fieldSelector };
    let seen = new Set<T>();
    let continueToken: string | undefined;
    let notOlderThan = this.lastSeen;
    let listRV: string | undefined;
    for (;;) {
      let page: ObjectList<T>;
      try {
        page = await this.fetchPage({ limit, continueToken, notOlderThan, ...selectors });
      } catch (err) {
        if (!continueToken || !isGone(err)) throw err;
        // The continue token expired (the state it reads was compacted): list again from now.
        this.stats.listRestarts++;
        this.opts.log?.info({ path: this.opts.path }, 'list continue token expired, listing again');
        seen = new Set<T>();
        continueToken = undefined;
        notOlderThan = undefined;
        listRV = undefined;
        continue;
      }
      listRV ??= page.metadata?.resourceVersion;
      // A metadata-only list of nothing comes back with `items: null`.
      this.applyPage(page.items ?? [], seen);
      continueToken = page.metadata?.continue || undefined;
      if (!continueToken) break;
    }
    for (const old of this.store.sweep((obj) => seen.has(obj)))
      this.emit({ type: 'DELETED', object: old, old });
    this.resourceVersion = this.lastSeen = listRV;
    if (!this.hasSynced) {
      this.hasSynced = true;
      this.resolveSynced();
    }
  }

  /** Caches one list page's objects (marking them in `seen`) and delivers what changed. */
  private applyPage(items: T[], seen: Set<T>): void {
    for (const raw of items) {
      const cached = this.store.get(raw.metadata?.name ?? '', raw.metadata?.namespace);
      if (cached && cached.metadata?.resourceVersion === raw.metadata?.resourceVersion) {
        // Unchanged: the cached object stays (handlers may hold it), the listed copy is dropped.
        seen.add(cached);
        continue;
      }
      const item = this.prepare(raw);
      seen.add(item);
      const old = this.store.set(item);
      this.emit(old ? { type: 'MODIFIED', object: item, old } : { type: 'ADDED', object: item });
    }
  }

  private apply(type: string, obj: T): void {
    if (type === 'DELETED') {
      const old = this.store.delete(obj);
      this.emit({ type, object: obj, old });
      return;
    }
    const old = this.store.set(obj);
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
        if (rv) this.resourceVersion = this.lastSeen = rv;
        if (type !== 'BOOKMARK') this.apply(type, this.prepare(object));
      },
    );
    if (failure) throw failure;
  }
}
