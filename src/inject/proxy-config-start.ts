import { isMap, isSeq, parseDocument, type Document } from 'yaml';
import { START_SUBSTITUTIONS, substitute, type StartSubstitution } from './bootstrap-template.js';

/** What only the pod knows, read by the init container when the pod starts. */
export interface PodStart {
  podName: string;
  podNamespace: string;
  podIP: string;
  /** Whether the pod has a global IPv6 address (the same test that decides the ip6tables rules). */
  ipv6: boolean;
}

/**
 * The proxy's configuration file as the init container writes it, from the text the webhook put in
 * its environment: the pod-start substitutions filled in, and, when the pod has IPv6, every static
 * listener bound to 0.0.0.0 also bound to [::] on the same port (unless it already binds an IPv6
 * address), since the ip6tables rules then send IPv6 connections to the same ports. Pure, so that
 * `sidecar-operator proxy-config bootstrap` prints exactly what a pod gets. A value not given (a pod
 * whose name is chosen only when it is created) leaves its substitution as it is.
 */
export function resolveAtStart(
  text: string,
  start: Partial<Omit<PodStart, 'ipv6'>> & Pick<PodStart, 'ipv6'>,
): string {
  const values: Partial<Record<StartSubstitution, string>> = {};
  for (const name of START_SUBSTITUTIONS) {
    const v = start[name];
    if (v !== undefined) values[name] = v;
  }
  const resolved = substitute(text, values, START_SUBSTITUTIONS);
  return start.ipv6 ? withIPv6Listeners(resolved) : resolved;
}

type Node = ReturnType<Document['createNode']>;

function addressOf(node: unknown): string | undefined {
  if (!isMap(node)) return undefined;
  const v = node.getIn(['socket_address', 'address']);
  return typeof v === 'string' ? v : undefined;
}

function hasIPv6(listener: Node): boolean {
  if (!isMap(listener)) return false;
  const extra = listener.get('additional_addresses');
  const addresses = [
    listener.get('address'),
    ...(isSeq(extra) ? extra.items.map((a) => (isMap(a) ? a.get('address') : undefined)) : []),
  ];
  return addresses.some((a) => addressOf(a)?.includes(':') === true);
}

function withIPv6Listeners(text: string): string {
  const doc = parseDocument(text);
  // Not a YAML object: left as it is, for the proxy to report.
  if (doc.errors.length > 0) return text;
  const listeners = doc.getIn(['static_resources', 'listeners']);
  if (!isSeq(listeners)) return text;
  let changed = false;
  for (const listener of listeners.items) {
    if (!isMap(listener) || addressOf(listener.get('address')) !== '0.0.0.0' || hasIPv6(listener)) continue;
    const port = listener.getIn(['address', 'socket_address', 'port_value']) ?? 0;
    const extra = doc.createNode({ address: { socket_address: { address: '::', port_value: port } } });
    const existing = listener.get('additional_addresses');
    if (isSeq(existing)) existing.items.push(extra);
    else listener.set('additional_addresses', doc.createNode([extra]));
    changed = true;
  }
  return changed ? doc.toString({ lineWidth: 0 }) : text;
}
