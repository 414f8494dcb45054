import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { Informer, type InformerEvent } from '../kube/index.js';
import type { PodMeta } from '../status/index.js';

/**
 * Every pod of the cluster, metadata only (PartialObjectMetadata, managedFields dropped), indexed
 * by namespace: status counts and the rollout read it instead of listing pods per reconcile.
 */
export class PodIndex {
  readonly informer: Informer<PodMeta>;
  private readonly byNamespace = new Map<string, Map<string, PodMeta>>();

  constructor(kc: KubeConfig, log: Logger) {
    this.informer = new Informer<PodMeta>(kc, {
      path: '/api/v1/pods',
      metadataOnly: true,
      transform: (p) => {
        if (p.metadata?.managedFields) delete p.metadata.managedFields;
        return p;
      },
      log,
    });
    this.informer.onEvent((e) => this.index(e));
  }

  private index(e: InformerEvent<PodMeta>): void {
    const ns = e.object.metadata?.namespace ?? '';
    const name = e.object.metadata?.name ?? '';
    let pods = this.byNamespace.get(ns);
    if (e.type === 'DELETED') {
      pods?.delete(name);
      if (pods?.size === 0) this.byNamespace.delete(ns);
      return;
    }
    if (!pods) this.byNamespace.set(ns, (pods = new Map<string, PodMeta>()));
    pods.set(name, e.object);
  }

  inNamespace(namespace: string): Iterable<PodMeta> {
    return this.byNamespace.get(namespace)?.values() ?? [];
  }

  *inNamespaces(namespaces: readonly string[]): Iterable<PodMeta> {
    for (const ns of namespaces) yield* this.inNamespace(ns);
  }

  get size(): number {
    let n = 0;
    for (const m of this.byNamespace.values()) n += m.size;
    return n;
  }
}
