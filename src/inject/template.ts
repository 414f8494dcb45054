import { INIT_CONTAINER, PROXY_CONTAINER } from '../api/index.js';
import type { IstioNamespaceOptions } from './istio-namespaces.js';
import type { Container, LabelSelector, Volume } from './k8s-types.js';

export type SidecarMode = 'Native' | 'Classic';
export type InterceptionMode = 'REDIRECT' | 'TPROXY' | 'None';

export type ProxyConfigMode = 'Default' | 'Template' | 'Xds';

/**
 * The proxy's configuration in a compiled template (absent with bootstrap mode None). One file per
 * interception mode a pod can end up with: the policy's, and the other capture mode when pods may
 * switch by annotation (TPROXY makes listeners transparent). The pod-start substitutions are left in.
 */
export interface ProxyConfig {
  mode: ProxyConfigMode;
  file: string;
  content: Partial<Record<InterceptionMode, string>>;
}

/**
 * What the init container's iptables flags are derived from. Kept apart from the rendered args
 * because they differ per pod: inbound ports follow the pod's container ports, and allowed
 * annotations may change any of them.
 */
export interface InterceptionValues {
  mode: InterceptionMode;
  outboundPort: number;
  inboundPort: number;
  proxyUID: number;
  proxyGID: number;
  includeOutboundIPRanges: string[];
  excludeOutboundIPRanges: string[];
  /** `["*"]` means: the pod's declared TCP container ports, or all ports when it declares none. */
  includeInboundPorts: string[];
  /** The policy's list; the proxy's own ports are added at render time (`proxyPorts`). */
  excludeInboundPorts: string[];
  excludeOutboundPorts: string[];
  /** The proxy's status, health and metrics ports: never captured whatever the annotations say. */
  proxyPorts: number[];
}

/**
 * A policy compiled into everything the webhook needs, fully resolved: no defaults left to apply,
 * no API server version left to look up. Plain JSON (stored in the policy's own injector template
 * ConfigMap). `revision` is the hash of all the other fields.
 */
export interface CompiledTemplate {
  policy: string;
  revision: string;
  sidecarMode: SidecarMode;
  selector: {
    namespaces: string[];
    namespaceSelector?: LabelSelector;
    podSelector?: LabelSelector;
  };
  injection: {
    holdApplicationUntilProxyStarts: boolean;
    allowedOverrides: string[];
  };
  interception: InterceptionValues;
  /**
   * Present only when the policy sets `compatibility.istio` (so other policies' revisions do not
   * change): Istio's pod labels and annotations are honoured, and its namespace labels read.
   */
  compatibility?: { istio: IstioNamespaceOptions };
  /** The proxy's configuration file, one per interception mode a pod can get; absent: bootstrap None. */
  proxyConfig?: ProxyConfig;
  /**
   * Writes the proxy's configuration, then (unless interception is None) installs the rules; absent
   * when it would do neither. Its args and configuration are the policy's; each pod gets its own.
   */
  initContainer?: Container;
  /** In Native mode already carries restartPolicy Always, the startup probe and the preStop hook. */
  proxyContainer: Container;
  /** The configuration volume, then the policy's spec.volumes. */
  volumes: Volume[];
}

/** The names of what injection adds, recorded in the status annotation. */
export const INIT_CONTAINER_NAME = INIT_CONTAINER;
export const PROXY_CONTAINER_NAME = PROXY_CONTAINER;
export const CONFIG_VOLUME_NAME = 'sidecar-config';
