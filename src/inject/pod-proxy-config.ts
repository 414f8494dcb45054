import type { Container, Pod } from './k8s-types.js';
import { PROXY_CONFIG_ENV, PROXY_CONFIG_FILE_ENV } from './proxy-config.js';
import type { PodStart } from './proxy-config-start.js';
import { INIT_CONTAINER_NAME, PROXY_CONTAINER_NAME } from './template.js';

/** What an injected pod carries for its proxy's configuration, read from its spec. */
export interface PodProxyConfig {
  /** The file sidecar-init writes. */
  file: string;
  /** The file's content before the pod-start substitutions. */
  text: string;
}

interface EnvVar {
  name?: unknown;
  value?: unknown;
}

function envOf(c: Container | undefined, name: string): string | undefined {
  const env = Array.isArray(c?.env) ? (c.env as EnvVar[]) : [];
  const v = env.find((e) => e.name === name)?.value;
  return typeof v === 'string' ? v : undefined;
}

export function findContainer(pod: Pod, name: string): Container | undefined {
  return [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].find((c) => c.name === name);
}

/** The configuration sidecar-init writes for this pod, or undefined when it writes none. */
export function readPodProxyConfig(pod: Pod): PodProxyConfig | undefined {
  const init = findContainer(pod, INIT_CONTAINER_NAME);
  const file = envOf(init, PROXY_CONFIG_FILE_ENV);
  const text = envOf(init, PROXY_CONFIG_ENV);
  return file !== undefined && text !== undefined ? { file, text } : undefined;
}

/**
 * The file the proxy is told to read (`-c`/`--config-path`, either form), from its command and args;
 * undefined when it is given none (an image that configures itself, or a proxy that is not Envoy).
 */
export function proxyConfigPath(pod: Pod): string | undefined {
  const proxy = findContainer(pod, PROXY_CONTAINER_NAME);
  const words = [proxy?.command, proxy?.args].flatMap((v) => (Array.isArray(v) ? v.map(String) : []));
  for (const [i, w] of words.entries()) {
    if (w === '-c' || w === '--config-path') return words[i + 1];
    if (w.startsWith('--config-path=')) return w.slice('--config-path='.length);
  }
  return undefined;
}

/**
 * What sidecar-init knew when the pod started, from the pod as the API server returns it: IPv6 when
 * one of its addresses is IPv6 (sidecar-init tests the pod's interfaces for a global IPv6 address,
 * which is what gives a pod an IPv6 pod IP).
 */
export function podStartOf(pod: Pod): Partial<PodStart> {
  const status = (pod.status ?? {}) as { podIP?: unknown; podIPs?: { ip?: unknown }[] };
  const ips = (status.podIPs ?? []).map((p) => p.ip).filter((ip): ip is string => typeof ip === 'string');
  if (typeof status.podIP === 'string' && !ips.includes(status.podIP)) ips.unshift(status.podIP);
  const meta = pod.metadata ?? {};
  return {
    ...(meta.name ? { podName: meta.name } : {}),
    ...(meta.namespace ? { podNamespace: meta.namespace } : {}),
    ...(ips[0] ? { podIP: ips[0] } : {}),
    ipv6: ips.some((ip) => ip.includes(':')),
  };
}
