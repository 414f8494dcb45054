import type { OverrideName } from '../api/index.js';
import {
  istioAnnotationProblem,
  ISTIO_INJECT,
  ISTIO_OVERRIDE_ANNOTATIONS,
  ISTIO_TEMPLATES,
} from './istio-annotations.js';
import type { Overrides, WarningReason } from './override-types.js';
import type { InterceptionValues } from './template.js';

/** Istio's annotation → the override it aliases. */
export const ISTIO_ALIASES: ReadonlyMap<string, OverrideName> = new Map(
  Object.entries(ISTIO_OVERRIDE_ANNOTATIONS).map(([name, annotation]) => [annotation, name as OverrideName]),
);

/** Where Istio keeps per-pod settings of its sidecar; those not aliased are reported as ignored. */
const ISTIO_PREFIXES = [
  'sidecar.istio.io/',
  'traffic.sidecar.istio.io/',
  'status.sidecar.istio.io/',
  'readiness.status.sidecar.istio.io/',
  'proxy.istio.io/',
  'inject.istio.io/',
];
/** Istio's marks that are no settings of the sidecar: read by the decision, or Istio's bookkeeping. */
const NOT_SETTINGS = new Set([ISTIO_INJECT, ISTIO_TEMPLATES, 'sidecar.istio.io/status']);

export function isIstioSetting(key: string): boolean {
  return ISTIO_PREFIXES.some((p) => key.startsWith(p)) && !NOT_SETTINGS.has(key);
}

type ListField = keyof Pick<
  InterceptionValues,
  | 'includeOutboundIPRanges'
  | 'excludeOutboundIPRanges'
  | 'includeInboundPorts'
  | 'excludeInboundPorts'
  | 'excludeOutboundPorts'
>;

/** Istio's lists: "" is an empty list (capture nothing, for includes), "*" all, else comma-separated. */
function items(field: ListField, value: string): string[] {
  if (value === '*') return ['*'];
  const ports = field.endsWith('Ports');
  const text = ports ? value.trim() : value;
  if (text === '') return [];
  return text.split(',').map((s) => (ports ? String(Number(s.trim())) : s));
}

/**
 * Applies one of Istio's annotations, read with Istio's grammar, to `out`; or says why not. The value
 * was already validated (a malformed one refuses the pod), and is checked again here all the same.
 */
export function applyIstioAlias(
  name: OverrideName,
  key: string,
  value: string,
  out: Overrides,
): { reason: WarningReason; why: string } | undefined {
  const problem = istioAnnotationProblem(key, value);
  if (problem !== undefined) return { reason: 'OverrideMalformed', why: problem };
  switch (name) {
    case 'interceptionMode':
      if (value === 'NONE')
        return {
          reason: 'NotHonoured',
          why: `NONE has no per-pod equivalent here (the policy decides whether traffic is captured); opt the pod out with ${ISTIO_INJECT}: "false" instead`,
        };
      out.interception = { ...out.interception, mode: value as 'REDIRECT' | 'TPROXY' };
      return undefined;
    case 'proxyCPU':
    case 'proxyMemory':
    case 'proxyCPULimit':
    case 'proxyMemoryLimit': {
      const kind = name.endsWith('Limit') ? 'limits' : 'requests';
      const resource = name.startsWith('proxyCPU') ? 'cpu' : 'memory';
      out[kind] = { ...out[kind], [resource]: value };
      return undefined;
    }
    default:
      return applyList(name, value, out);
  }
}

function applyList(field: ListField, value: string, out: Overrides) {
  const list = items(field, value);
  // Istio's grammar takes port 0, which no socket listens on and iptables refuses: left out.
  const kept = list.filter((p) => !(field.endsWith('Ports') && p === '0'));
  out.interception = { ...out.interception, [field]: kept };
  if (field === 'includeInboundPorts') out.inboundFromAnnotation = true;
  return undefined;
}
