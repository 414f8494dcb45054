import { buildIptablesArgs } from '../iptables/index.js';
import type { Container } from './k8s-types.js';
import type { InterceptionValues } from './template.js';

/**
 * The inbound ports to capture for one pod. The policy's `*` narrows to the TCP ports the pod's
 * containers declare (Istio's original behaviour, and what the seed's bookinfo expects: `-b 9080`);
 * a pod that declares none keeps `*`, so undeclared servers are still captured rather than silently
 * left outside the mesh. An explicit list (policy or annotation) is used as written.
 */
export function inboundPortsFor(
  values: InterceptionValues,
  containers: Container[],
  fromAnnotation: boolean,
): string {
  const include = values.includeInboundPorts;
  if (fromAnnotation || include.length !== 1 || include[0] !== '*') return include.join(',');
  const excluded = new Set(excludedInboundPorts(values));
  const declared = new Set<number>();
  for (const c of containers) {
    for (const p of c.ports ?? []) {
      if ((p.protocol ?? 'TCP') === 'TCP' && !excluded.has(p.containerPort)) declared.add(p.containerPort);
    }
  }
  if (declared.size === 0) return '*';
  return [...declared]
    .sort((a, b) => a - b)
    .map(String)
    .join(',');
}

/** The proxy's own ports first (sorted), then the policy's or annotation's, without repeats. */
export function excludedInboundPorts(values: InterceptionValues): number[] {
  const out: number[] = [...values.proxyPorts].sort((a, b) => a - b);
  for (const p of values.excludeInboundPorts) {
    const n = Number(p);
    if (!out.includes(n)) out.push(n);
  }
  return out;
}

/**
 * The init container's args: `iptables` and its istio-iptables style flags, written by the iptables
 * program's own flag table so the two cannot drift. `-g` and `-o` appear only when they say
 * something (GID differs from UID, ports to exclude), as in Istio's template.
 */
export function buildInitArgs(values: InterceptionValues, inboundPorts: string): string[] {
  return buildIptablesArgs({
    proxyPort: values.outboundPort,
    inboundCapturePort: values.inboundPort,
    proxyUid: values.proxyUID,
    ...(values.proxyGID !== values.proxyUID ? { proxyGid: values.proxyGID } : {}),
    inboundInterceptionMode: values.mode,
    outboundIpRangesInclude: values.includeOutboundIPRanges,
    outboundIpRangesExclude: values.excludeOutboundIPRanges,
    inboundPortsInclude: inboundPorts === '' ? [] : inboundPorts.split(','),
    inboundPortsExclude: excludedInboundPorts(values),
    ...(values.excludeOutboundPorts.length > 0 ? { outboundPortsExclude: values.excludeOutboundPorts } : {}),
  });
}
