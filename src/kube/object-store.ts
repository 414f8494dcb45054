import type { KubernetesObject } from '@kubernetes/client-node';

/**
 * An informer's objects by namespace, then name (cluster-scoped objects under ''): one entry per
 * object, keyed by the strings the object already holds, so a namespace's objects are read without
 * a second index and a cache of every pod of a cluster holds no extra key strings.
 */
export class ObjectStore<T extends KubernetesObject> {
  private readonly byNamespace = new Map<string, Map<string, T>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(name: string, namespace = ''): T | undefined {
    return this.byNamespace.get(namespace)?.get(name);
  }

  /** Stores `obj`, returning the object it replaced. */
  set(obj: T): T | undefined {
    const ns = obj.metadata?.namespace ?? '';
    let objects = this.byNamespace.get(ns);
    if (!objects) this.byNamespace.set(ns, (objects = new Map<string, T>()));
    const name = obj.metadata?.name ?? '';
    const old = objects.get(name);
    objects.set(name, obj);
    if (!old) this.count++;
    return old;
  }

  /** Removes the object with `obj`'s namespace and name, returning what was stored. */
  delete(obj: KubernetesObject): T | undefined {
    const ns = obj.metadata?.namespace ?? '';
    const objects = this.byNamespace.get(ns);
    const name = obj.metadata?.name ?? '';
    const old = objects?.get(name);
    if (!objects || !old) return undefined;
    objects.delete(name);
    if (objects.size === 0) this.byNamespace.delete(ns);
    this.count--;
    return old;
  }

  inNamespace(namespace: string): Iterable<T> {
    return this.byNamespace.get(namespace)?.values() ?? [];
  }

  *values(): IterableIterator<T> {
    for (const objects of this.byNamespace.values()) yield* objects.values();
  }

  /** Removes and returns every stored object that `keep` rejects (a relist's deletions). */
  sweep(keep: (obj: T) => boolean): T[] {
    const removed: T[] = [];
    for (const [ns, objects] of this.byNamespace) {
      for (const [name, obj] of objects) {
        if (keep(obj)) continue;
        objects.delete(name);
        removed.push(obj);
      }
      if (objects.size === 0) this.byNamespace.delete(ns);
    }
    this.count -= removed.length;
    return removed;
  }
}
