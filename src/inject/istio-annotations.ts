import type { OverrideName } from '../api/index.js';
import { parseCidr } from '../iptables/address.js';

/**
 * Istio's pod annotations, read the way Istio's injector reads them (pkg/kube/inject/validate.go),
 * for policies with `compatibility.istio`. Only the grammar is Istio's: what a value does here is
 * decided by the overrides (allowedOverrides) it aliases.
 */

/** The label (or, older, annotation) with which a pod asks Istio for a sidecar or declines one. */
export const ISTIO_INJECT = 'sidecar.istio.io/inject';

/** The Istio injection templates a pod asks for (comma-separated; Istio's default is `sidecar`). */
export const ISTIO_TEMPLATES = 'inject.istio.io/templates';

/**
 * When the pod names Istio templates and none is `sidecar` (proxyless gRPC, a custom template), the
 * annotation that says so: Istio gives such a pod no traffic-capturing sidecar, and neither do we.
 */
export function istioTemplatesWithoutSidecar(
  annotations: Readonly<Record<string, string>> | undefined,
): string | undefined {
  const value = annotations?.[ISTIO_TEMPLATES];
  if (value === undefined || value.trim() === '') return undefined;
  const names = value.split(',').map((t) => t.trim());
  return names.includes('sidecar')
    ? undefined
    : `annotation ${ISTIO_TEMPLATES}=${value}, which names no sidecar template`;
}

/** Istio's annotation for each of our overrides. */
export const ISTIO_OVERRIDE_ANNOTATIONS: Readonly<Record<OverrideName, string>> = {
  includeOutboundIPRanges: 'traffic.sidecar.istio.io/includeOutboundIPRanges',
  excludeOutboundIPRanges: 'traffic.sidecar.istio.io/excludeOutboundIPRanges',
  includeInboundPorts: 'traffic.sidecar.istio.io/includeInboundPorts',
  excludeInboundPorts: 'traffic.sidecar.istio.io/excludeInboundPorts',
  excludeOutboundPorts: 'traffic.sidecar.istio.io/excludeOutboundPorts',
  interceptionMode: 'sidecar.istio.io/interceptionMode',
  proxyCPU: 'sidecar.istio.io/proxyCPU',
  proxyMemory: 'sidecar.istio.io/proxyMemory',
  proxyCPULimit: 'sidecar.istio.io/proxyCPULimit',
  proxyMemoryLimit: 'sidecar.istio.io/proxyMemoryLimit',
};

/** Returns why the value is malformed, or undefined. */
type Check = (value: string) => string | undefined;

const quantity =
  /^(\+|-)?((\d+(\.\d*)?)|(\.\d+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?((\d+(\.\d*)?)|(\.\d+))))?$/;

/** A value quoted in a message, cut short: messages go back to the pod's author and to logs. */
export function quoteValue(value: string): string {
  return JSON.stringify(value.length > 64 ? `${value.slice(0, 61)}...` : value);
}

/** Go's netip.ParsePrefix: an address, a slash, and a decimal length without leading zeros; no spaces. */
function prefixProblem(s: string): string | undefined {
  const slash = s.indexOf('/');
  const bits = s.slice(slash + 1);
  const addr = slash < 0 || /\s/.test(s) ? undefined : parseCidr(s.slice(0, slash));
  if (addr === undefined || typeof addr === 'string') return `${quoteValue(s)} is not a CIDR`;
  const max = addr.family === 'ipv4' ? 32 : 128;
  if (!/^(0|[1-9]\d{0,2})$/.test(bits) || Number(bits) > max)
    return `${quoteValue(s)} has an invalid prefix length (0-${max})`;
  return undefined;
}

/** Comma-separated CIDRs; empty means none. Istio trims nothing here. */
const cidrList: Check = (value) => {
  if (value === '') return undefined;
  for (const item of value.split(',')) {
    const problem = prefixProblem(item);
    if (problem) return problem;
  }
  return undefined;
};

/** strconv.ParseUint(s, 10, 16) after trimming, as Istio's parsePort. */
function portProblem(s: string): string | undefined {
  const t = s.trim();
  return /^\d+$/.test(t) && Number(t) <= 65535 ? undefined : `${quoteValue(s)} is not a port number`;
}

/** Comma-separated ports, the whole list trimmed first; empty means none. */
const portList: Check = (value) => {
  if (value.trim() === '') return undefined;
  for (const item of value.trim().split(',')) {
    const problem = portProblem(item);
    if (problem) return problem;
  }
  return undefined;
};

const orStar =
  (check: Check): Check =>
  (value) =>
    value === '*' ? undefined : check(value);

const uint32: Check = (value) =>
  /^\d+$/.test(value) && Number(value) <= 4294967295
    ? undefined
    : `${quoteValue(value)} is not an unsigned 32-bit integer`;

/** strconv.ParseBool. */
const bool: Check = (value) =>
  ['1', 't', 'T', 'TRUE', 'true', 'True', '0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)
    ? undefined
    : `${quoteValue(value)} is not a boolean`;

const resourceQuantity: Check = (value) =>
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u001f\u007f-\u009f]/.test(value) || !quantity.test(value)
    ? `${quoteValue(value)} is not a resource quantity (e.g. 100m, 128Mi)`
    : undefined;

const interfaceNames: Check = (value) => {
  if (value === '') return undefined;
  for (const raw of value.split(',')) {
    const name = raw.trim();
    if (name === '') return 'an interface name is empty';
    if (name.length > 15) return `interface name ${quoteValue(name)} is longer than 15 characters`;
    if (!/^[a-zA-Z][a-zA-Z0-9_.-]*$/.test(name))
      return `interface name ${quoteValue(name)} contains invalid characters`;
  }
  return undefined;
};

const interceptionMode: Check = (value) =>
  ['REDIRECT', 'TPROXY', 'NONE'].includes(value)
    ? undefined
    : `${quoteValue(value)} is not REDIRECT, TPROXY or NONE`;

/**
 * Every annotation Istio's injector validates, and how; a pod with a malformed one is refused
 * by Istio, and so by a policy with `compatibility.istio`. Istio's `proxy.istio.io/config` (a
 * ProxyConfig document checked against Istio's mesh configuration) is not among them.
 */
const CHECKS: Readonly<Record<string, Check>> = {
  [ISTIO_OVERRIDE_ANNOTATIONS.includeOutboundIPRanges]: orStar(cidrList),
  [ISTIO_OVERRIDE_ANNOTATIONS.excludeOutboundIPRanges]: cidrList,
  [ISTIO_OVERRIDE_ANNOTATIONS.includeInboundPorts]: orStar(portList),
  [ISTIO_OVERRIDE_ANNOTATIONS.excludeInboundPorts]: portList,
  [ISTIO_OVERRIDE_ANNOTATIONS.excludeOutboundPorts]: portList,
  [ISTIO_OVERRIDE_ANNOTATIONS.interceptionMode]: interceptionMode,
  [ISTIO_OVERRIDE_ANNOTATIONS.proxyCPU]: resourceQuantity,
  [ISTIO_OVERRIDE_ANNOTATIONS.proxyMemory]: resourceQuantity,
  [ISTIO_OVERRIDE_ANNOTATIONS.proxyCPULimit]: resourceQuantity,
  [ISTIO_OVERRIDE_ANNOTATIONS.proxyMemoryLimit]: resourceQuantity,
  'status.sidecar.istio.io/port': (v) => portProblem(v),
  'readiness.status.sidecar.istio.io/initialDelaySeconds': uint32,
  'readiness.status.sidecar.istio.io/periodSeconds': uint32,
  'readiness.status.sidecar.istio.io/failureThreshold': uint32,
  'traffic.sidecar.istio.io/excludeInterfaces': interfaceNames,
  'traffic.sidecar.istio.io/kubevirtInterfaces': interfaceNames,
  'istio.io/reroute-virtual-interfaces': interfaceNames,
  'prometheus.istio.io/merge-metrics': bool,
};

/** The annotations Istio validates, by name (for docs and tests). */
export const ISTIO_VALIDATED_ANNOTATIONS: readonly string[] = Object.keys(CHECKS).sort();

/**
 * What is wrong with the pod's Istio annotations, one sentence per malformed annotation (sorted by
 * name), in the shape of Istio's own message: the value, the annotation, why.
 */
export function istioAnnotationProblems(annotations: Readonly<Record<string, string>>): string[] {
  const out: string[] = [];
  for (const name of ISTIO_VALIDATED_ANNOTATIONS) {
    const value = annotations[name];
    if (value === undefined) continue;
    const problem = CHECKS[name]!(value);
    if (problem !== undefined)
      out.push(`invalid value ${quoteValue(value)} for annotation ${name}: ${problem}`);
  }
  return out;
}

/** Whether the one annotation is malformed as Istio reads it (undefined: well-formed or not Istio's). */
export function istioAnnotationProblem(name: string, value: string): string | undefined {
  return Object.hasOwn(CHECKS, name) ? CHECKS[name]!(value) : undefined;
}

/** The pod's answer, and where it was read (`label sidecar.istio.io/inject=false`). */
export interface IstioIntent {
  value: boolean;
  source: string;
}

/**
 * The pod's answer to "inject me?" as Istio reads it: the label wins over the annotation, and
 * only exactly "true" or "false" counts (Istio falls back to its default for anything else).
 */
export function istioInjectIntent(
  labels: Readonly<Record<string, string>> | undefined,
  annotations: Readonly<Record<string, string>> | undefined,
): IstioIntent | undefined {
  const label = labels?.[ISTIO_INJECT];
  const note = annotations?.[ISTIO_INJECT];
  const [value, source] =
    label !== undefined
      ? [label, `label ${ISTIO_INJECT}=${label}`]
      : [note, `annotation ${ISTIO_INJECT}=${note}`];
  if (value === 'true') return { value: true, source };
  if (value === 'false') return { value: false, source };
  return undefined;
}
