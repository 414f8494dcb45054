import { KubeConfig, type RequestContext } from '@kubernetes/client-node';

type Dispatcher = NonNullable<ReturnType<RequestContext['getDispatcher']>>;

/**
 * A KubeConfig whose requests share one HTTP connection pool per context.
 *
 * client-node 2.x builds a fresh undici Agent for every request, so no connection is ever reused
 * and each call pays a TLS handshake. We keep the first dispatcher built for a context and hand it
 * to every later request.
 */
export class PooledKubeConfig extends KubeConfig {
  private readonly dispatchers = new Map<string, Dispatcher>();

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    const fresh = context.getDispatcher();
    if (!fresh) return;
    const key = this.getCurrentContext();
    const pooled = this.dispatchers.get(key);
    if (pooled) {
      context.setDispatcher(pooled);
      // Never connected: closing only frees the object.
      void fresh.close();
    } else {
      this.dispatchers.set(key, fresh);
    }
  }

  /** Closes the pooled connections (on shutdown). */
  async closeConnections(): Promise<void> {
    const all = [...this.dispatchers.values()];
    this.dispatchers.clear();
    await Promise.allSettled(all.map((d) => d.close()));
  }
}

export interface KubeConfigSource {
  /** Path of a kubeconfig file; otherwise in-cluster, then $KUBECONFIG / ~/.kube/config. */
  kubeconfig?: string;
  /** Kubeconfig YAML, used as is (tests, the embedded demo). */
  kubeconfigYaml?: string;
  context?: string;
}

/** Loads credentials the way kubectl does, into a pooled KubeConfig. */
export function loadKubeConfig(src: KubeConfigSource = {}): PooledKubeConfig {
  const kc = new PooledKubeConfig();
  if (src.kubeconfigYaml) kc.loadFromString(src.kubeconfigYaml);
  else if (src.kubeconfig) kc.loadFromFile(src.kubeconfig);
  else kc.loadFromDefault();
  if (src.context) kc.setCurrentContext(src.context);
  if (!kc.getCurrentCluster()) throw new Error('kubeconfig has no current cluster');
  return kc;
}
