import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Paths of the control-plane and tool binaries built by `make envtest`. */
export interface Binaries {
  dir: string;
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  helm: string;
  kubernetesVersion: string;
}

// Three levels up from both src/dev/envtest and dist/dev/envtest.
const repoRoot = join(import.meta.dirname, '..', '..', '..');

function readVersions(): Record<string, string> {
  const text = readFileSync(join(repoRoot, 'hack', 'envtest', 'versions.env'), 'utf8');
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z_]+)=(\S+)/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

/**
 * Locates the binaries in the cache `hack/envtest/build.sh` writes to (same key, same
 * environment variables). Throws an error naming `make envtest` when one is missing.
 */
export function findBinaries(env: NodeJS.ProcessEnv = process.env): Binaries {
  const v = readVersions();
  const cache =
    env.SIDECAR_ENVTEST_CACHE ??
    join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'sidecar-operator', 'envtest');
  const dir =
    env.SIDECAR_ENVTEST_BIN ??
    join(cache, `k8s-${v.KUBERNETES_VERSION}-etcd-${v.ETCD_VERSION}-helm-${v.HELM_VERSION}`);
  const bins: Binaries = {
    dir,
    etcd: join(dir, 'etcd'),
    kubeApiserver: join(dir, 'kube-apiserver'),
    kubeControllerManager: join(dir, 'kube-controller-manager'),
    helm: join(dir, 'helm'),
    kubernetesVersion: v.KUBERNETES_VERSION ?? 'unknown',
  };
  const missing = [bins.etcd, bins.kubeApiserver, bins.kubeControllerManager, bins.helm].filter(
    (p) => !existsSync(p),
  );
  if (missing.length > 0) {
    throw new Error(
      `test control plane not built (missing ${missing.join(', ')}): run \`make envtest\` first`,
    );
  }
  return bins;
}
