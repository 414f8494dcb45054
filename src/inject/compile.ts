import type { Container, Volume } from './k8s-types.js';
import { buildInitArgs } from './init-args.js';
import { contentHash } from './revision.js';
import {
  CONFIG_VOLUME_NAME,
  INIT_CONTAINER_NAME,
  PROXY_CONTAINER_NAME,
  type CompiledTemplate,
  type InterceptionValues,
  type SidecarMode,
} from './template.js';
import type { DefaultedSpec } from './policy-spec.js';

export interface CompileOptions {
  /** Whether the API server supports native sidecars (Kubernetes ≥ 1.29); resolves sidecarMode Auto. */
  nativeSidecars: boolean;
  /**
   * The image of `sidecar-init` when the policy names none: the operator's own image, so that the
   * iptables program understands the flags this operator renders, across upgrades.
   */
  initImage: string;
  /**
   * Whether the API server accepts the `sleep` lifecycle action (Kubernetes ≥ 1.30). Where it does
   * not, a 1.29 server would drop the field and then reject the pod for a preStop with no handler,
   * so the native proxy gets no preStop pause. Default: true.
   */
  sleepAction?: boolean;
}

/** Where the proxy's memory-backed config volume is mounted. */
export const CONFIG_MOUNT_PATH = '/etc/sidecar/proxy';
/** The proxy's readiness endpoint on its health port: the contract a proxy image must meet. */
export const READY_PATH = '/healthz/ready';

/** Compile a defaulted policy into the template the webhook serves; pure and deterministic. */
export function compileSpec(name: string, spec: DefaultedSpec, opts: CompileOptions): CompiledTemplate {
  const mode = resolveMode(spec.injection.sidecarMode, opts.nativeSidecars);
  const interception = interceptionValues(spec);
  const content = {
    policy: name,
    sidecarMode: mode,
    selector: {
      namespaces: [...(spec.selector.namespaces ?? [])].sort(),
      ...(spec.selector.namespaceSelector ? { namespaceSelector: spec.selector.namespaceSelector } : {}),
      ...(spec.selector.podSelector ? { podSelector: spec.selector.podSelector } : {}),
    },
    injection: {
      holdApplicationUntilProxyStarts: spec.injection.holdApplicationUntilProxyStarts,
      allowedOverrides: [...(spec.injection.allowedOverrides ?? [])].sort(),
    },
    interception,
    ...(interception.mode === 'None'
      ? {}
      : { initContainer: initContainer(spec, interception, opts.initImage) }),
    proxyContainer: proxyContainer(spec, mode, opts.sleepAction !== false),
    volumes: volumes(),
  };
  // The revision covers everything else in the template, so any change a pod would see changes it.
  const { policy, ...rest } = content;
  return { policy, revision: contentHash(content), ...rest };
}

export function resolveMode(mode: 'Auto' | 'Native' | 'Classic', nativeSidecars: boolean): SidecarMode {
  if (mode === 'Auto') return nativeSidecars ? 'Native' : 'Classic';
  return mode;
}

function interceptionValues(spec: DefaultedSpec): InterceptionValues {
  const i = spec.interception;
  const p = spec.proxy.ports;
  return {
    mode: i.mode,
    outboundPort: i.outboundPort,
    inboundPort: i.inboundPort,
    proxyUID: spec.proxy.uid,
    proxyGID: spec.proxy.gid,
    includeOutboundIPRanges: [...i.includeOutboundIPRanges],
    excludeOutboundIPRanges: [...i.excludeOutboundIPRanges],
    includeInboundPorts: [...i.includeInboundPorts],
    excludeInboundPorts: [...i.excludeInboundPorts],
    excludeOutboundPorts: [...i.excludeOutboundPorts],
    proxyPorts: [...new Set([p.status, p.health, p.metrics])].sort((a, b) => a - b),
  };
}

function initContainer(spec: DefaultedSpec, values: InterceptionValues, initImage: string): Container {
  return {
    name: INIT_CONTAINER_NAME,
    image: spec.init.image ?? initImage,
    command: ['sidecar-operator'],
    args: buildInitArgs(values, values.includeInboundPorts.join(',')),
    resources: spec.init.resources,
    // Root with NET_ADMIN/NET_RAW only for as long as it takes to load the rules, then it exits.
    securityContext: {
      runAsUser: 0,
      runAsGroup: 0,
      runAsNonRoot: false,
      privileged: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { add: ['NET_ADMIN', 'NET_RAW'], drop: ['ALL'] },
    },
  };
}

function proxyContainer(spec: DefaultedSpec, mode: SidecarMode, sleepAction: boolean): Container {
  const px = spec.proxy;
  const ready = { httpGet: { path: READY_PATH, port: px.ports.health } };
  const container: Container = {
    name: PROXY_CONTAINER_NAME,
    image: px.image,
    ...(px.args && px.args.length > 0 ? { args: [...px.args] } : {}),
    env: [
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: 'INSTANCE_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
      ...(px.env ?? []),
    ],
    ports: [
      { name: 'proxy-admin', containerPort: px.ports.admin, protocol: 'TCP' },
      { name: 'proxy-status', containerPort: px.ports.status, protocol: 'TCP' },
      { name: 'proxy-health', containerPort: px.ports.health, protocol: 'TCP' },
      { name: 'proxy-metrics', containerPort: px.ports.metrics, protocol: 'TCP' },
    ],
    resources: px.resources,
    readinessProbe: { ...ready, periodSeconds: 2, timeoutSeconds: 3, failureThreshold: 30 },
    securityContext: {
      runAsUser: px.uid,
      runAsGroup: px.gid,
      runAsNonRoot: true,
      privileged: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      // TPROXY needs IP_TRANSPARENT on the proxy's sockets.
      capabilities:
        spec.interception.mode === 'TPROXY' ? { add: ['NET_ADMIN'], drop: ['ALL'] } : { drop: ['ALL'] },
    },
    volumeMounts: [{ name: CONFIG_VOLUME_NAME, mountPath: CONFIG_MOUNT_PATH }],
  };
  if (mode === 'Native') {
    // The kubelet starts the next container only once this probe passes: the application (and the
    // app's init containers after it) never run before the proxy is ready.
    container.restartPolicy = 'Always';
    container.startupProbe = { ...ready, periodSeconds: 1, timeoutSeconds: 3, failureThreshold: 600 };
    // Keeps the proxy serving while endpoints are withdrawn and in-flight requests finish.
    if (sleepAction) container.lifecycle = { preStop: { sleep: { seconds: 5 } } };
  } else if (spec.injection.holdApplicationUntilProxyStarts) {
    // The kubelet runs a container's postStart hook to completion before it starts the next container.
    container.lifecycle = {
      postStart: { exec: { command: ['/bin/sh', '-c', waitScript(px.ports.health)] } },
    };
  }
  return container;
}

/** Polls readiness for up to 2 minutes with whichever HTTP client the proxy image has. */
function waitScript(port: number): string {
  const url = `http://127.0.0.1:${port}${READY_PATH}`;
  return (
    `i=0; while [ $i -lt 120 ]; do ` +
    `{ wget -q -O /dev/null ${url} || curl -fs -o /dev/null ${url}; } 2>/dev/null && exit 0; ` +
    `i=$((i+1)); sleep 1; done; exit 1`
  );
}

function volumes(): Volume[] {
  return [{ name: CONFIG_VOLUME_NAME, emptyDir: { medium: 'Memory' } }];
}
