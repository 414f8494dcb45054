import type { V1Namespace } from '@kubernetes/client-node';
import { POLICY_LABEL, REVISION_ANNOTATION, STATUS_ANNOTATION, type SidecarPolicy } from '../../api/index.js';
import type { Container, Pod } from '../../inject/index.js';
import { buildPlan, formatDryRun, parseIptablesArgs, resolveConfig } from '../../iptables/index.js';
import type { Style } from './style.js';

const indent = (text: string, by = '    '): string =>
  text
    .trimEnd()
    .split('\n')
    .map((l) => by + l)
    .join('\n');

/** Conditions, revision and counts, as `kubectl describe` would group them. */
export function showPolicy(p: SidecarPolicy, s: Style): string {
  const st = p.status ?? {};
  const lines = [
    `${s.bold(`SidecarPolicy ${p.metadata?.name}`)}  revision ${s.cyan(st.revision ?? '?')}, observedGeneration ${st.observedGeneration ?? '?'}`,
    `  namespaces ${st.namespaces ?? 0}, injectedPods ${st.injectedPods ?? 0}, outdatedPods ${st.outdatedPods ?? 0}, uninjectedPods ${st.uninjectedPods ?? 0}`,
    '  conditions:',
  ];
  for (const c of st.conditions ?? []) {
    const good = c.type === 'Conflict' ? c.status === 'False' : c.status === 'True';
    const status = good ? s.green(c.status) : s.yellow(c.status);
    lines.push(`    ${c.type.padEnd(18)} ${status.padEnd(good ? 5 : 7)} ${c.reason}: ${s.dim(c.message)}`);
  }
  return lines.join('\n');
}

export function showNamespace(ns: V1Namespace, s: Style): string {
  const labels = ns.metadata?.labels ?? {};
  const annotations = ns.metadata?.annotations ?? {};
  return [
    `${s.bold(`Namespace ${ns.metadata?.name}`)}`,
    `  label      ${POLICY_LABEL}=${s.cyan(labels[POLICY_LABEL] ?? '(none)')}`,
    `  annotation ${REVISION_ANNOTATION}=${s.cyan(annotations[REVISION_ANNOTATION] ?? '(none)')}`,
  ].join('\n');
}

function describeContainer(c: Container, kind: string, s: Style): string {
  const extra = c.restartPolicy ? ` restartPolicy=${c.restartPolicy}` : '';
  return `    ${kind.padEnd(14)} ${s.bold(c.name)}  ${s.dim(c.image ?? '')}${extra}`;
}

/** The pod's containers, init containers first, then the status annotation the webhook wrote. */
export function showPod(pod: Pod, s: Style): string {
  const lines = [`${s.bold(`Pod ${pod.metadata?.namespace}/${pod.metadata?.name}`)}`];
  for (const c of pod.spec?.initContainers ?? []) lines.push(describeContainer(c, 'initContainer', s));
  for (const c of pod.spec?.containers ?? []) lines.push(describeContainer(c, 'container', s));
  const status = pod.metadata?.annotations?.[STATUS_ANNOTATION];
  lines.push(`  annotation ${STATUS_ANNOTATION}: ${status ? s.cyan(status) : s.red('(none: not injected)')}`);
  return lines.join('\n');
}

/** As a shell would need it: empty and glob-like arguments quoted. */
function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The init container's command line, and what `iptables --dry-run` prints for those arguments (IPv4). */
export function showInterception(init: Container, s: Style): string {
  const strings = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);
  const args = strings(init.args);
  const argv = [...strings(init.command), ...args];
  // With interception None it only writes the proxy's configuration: no rules to show.
  if (args[0] !== 'iptables')
    return [`${s.bold(`Init container ${init.name}`)} runs:`, `    ${argv.map(shellQuote).join(' ')}`].join(
      '\n',
    );
  const config = resolveConfig({ ...parseIptablesArgs(args), dryRun: true });
  const plan = buildPlan(config, ['ipv4']);
  return [
    `${s.bold(`Init container ${init.name}`)} runs:`,
    `    ${argv.map(shellQuote).join(' ')}`,
    `${s.bold('Rules it applies')} (iptables --dry-run on those arguments, IPv4):`,
    indent(formatDryRun(config, plan, 'IPv4 shown')),
  ].join('\n');
}
