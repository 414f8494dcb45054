import type { Command, Option } from 'commander';
import { describe, expect, it } from 'vitest';
import { setWarn } from './flags.js';
import { buildProgram } from './program.js';

/**
 * Every command's flags against the conventions (src/cli/flags.ts). A new command must be put in
 * one of these two lists, so that whether it takes --kubeconfig/--context is a decision.
 */
const CLUSTER = ['run', 'doctor', 'migrate', 'uninstall', 'version', 'proxy-config bootstrap'];
const OFFLINE = ['inject', 'iptables', 'proxy-config', 'proxy-config write', 'demo', 'completion'];

/** Flags whose value is a time (by a word of their name). */
const TIME = /^(timeout|duration|deadline|period|lifetime|interval|wait|ttl|age)$/;

/**
 * `iptables` is what the init container runs, with istio-iptables' short flags, which the webhook
 * writes into every injected pod: its -o is --outbound-ports-exclude, not an output format.
 */
const ISTIO_SHORT = (path: string, o: Option): boolean => path === 'iptables' && o.short === '-o';
const FORMATS = ['text', 'json', 'yaml', 'wide', 'name'];

function commands(cmd: Command, path = ''): { path: string; cmd: Command }[] {
  return cmd.commands.flatMap((c) => {
    const p = path === '' ? c.name() : `${path} ${c.name()}`;
    return [{ path: p, cmd: c }, ...commands(c, p)];
  });
}

function namespaceDeviations(at: string, o: Option, name: string): string[] {
  const out: string[] = [];
  if (o.short === '-n' && o.long !== '--namespace') out.push(`${at}: -n is --namespace only`);
  if (o.long === '--namespace') {
    if (o.short !== '-n') out.push(`${at}: --namespace without -n`);
    if (o.envVar === 'POD_NAMESPACE' || /operator/i.test(o.description))
      out.push(`${at}: --namespace is the application's namespace; the operator's is --operator-namespace`);
  }
  if (/namespace/.test(name) && /operator/i.test(o.description) && o.long !== '--operator-namespace')
    out.push(`${at}: the operator's namespace is --operator-namespace`);
  if (o.long === '--operator-namespace' && o.short !== undefined) out.push(`${at}: no short form`);
  return out;
}

function timeDeviations(at: string, o: Option, name: string): string[] {
  if (!name.split('-').some((w) => TIME.test(w)) || !(o.required || o.optional)) return [];
  const out: string[] = [];
  const parse = (v: string): unknown => (o.parseArg ? o.parseArg(v, undefined) : v);
  const parsed = [parse('30s'), parse('2m')];
  if (parsed[0] !== 30_000 || parsed[1] !== 120_000)
    out.push(`${at}: not a duration (30s → ${String(parsed[0])})`);
  let refused = false;
  try {
    parse('soon');
  } catch {
    refused = true;
  }
  if (!refused) out.push(`${at}: takes "soon" as a time`);
  if (typeof o.defaultValue === 'number' && !/^\d+(ms|s|m|h|d)$/.test(o.defaultValueDescription ?? ''))
    out.push(`${at}: its default is not shown as a duration`);
  return out;
}

function outputDeviations(path: string, at: string, o: Option): string[] {
  if ((o.long !== '--output' && o.short !== '-o') || ISTIO_SHORT(path, o)) return [];
  const out: string[] = [];
  if (o.short !== '-o' || o.long !== '--output') out.push(`${at}: the output format is -o, --output`);
  if (!o.argChoices?.every((c) => FORMATS.includes(c))) out.push(`${at}: formats are ${FORMATS.join('|')}`);
  return out;
}

/** What is wrong with one flag, or nothing. */
export function deviations(path: string, o: Option, cluster: boolean): string[] {
  const name = o.long?.slice(2) ?? o.short ?? '';
  const at = `${path} ${o.flags}`;
  if (o.hidden)
    return o.description.startsWith('deprecated: use --') ? [] : [`${at}: hidden but not a deprecated alias`];
  return [
    ...namespaceDeviations(at, o, name),
    ...timeDeviations(at, o, name),
    ...outputDeviations(path, at, o),
    ...(!cluster && (o.long === '--kubeconfig' || o.long === '--context')
      ? [`${at}: an offline command with ${o.long}`]
      : []),
  ];
}

describe('flag conventions', () => {
  it('every command follows them', { timeout: 120_000 }, async () => {
    const program = await buildProgram(['node', 'sidecar-operator', '--help']);
    const all = commands(program);
    expect(all.map((c) => c.path).sort()).toEqual([...CLUSTER, ...OFFLINE].sort());
    const warned: string[] = [];
    const previous = setWarn((l) => warned.push(l));
    try {
      const found = all.flatMap(({ path, cmd }) => {
        const cluster = CLUSTER.includes(path);
        const longs = cmd.options.map((o) => o.long);
        const missing = cluster
          ? ['--kubeconfig', '--context'].filter((f) => !longs.includes(f)).map((f) => `${path}: no ${f}`)
          : [];
        return [...missing, ...cmd.options.flatMap((o) => deviations(path, o, cluster))];
      });
      expect(found).toEqual([]);
    } finally {
      setWarn(previous);
    }
  });

  it('catches a deviation of each kind', async () => {
    const { Command, Option } = await import('commander');
    const bad = new Command('x')
      .option('-n, --dry-run', 'dry run')
      .addOption(new Option('--namespace <ns>', 'the operator’s namespace').env('POD_NAMESPACE'))
      .option('--timeout <ms>', 'milliseconds', '5000')
      .addOption(new Option('--output <f>', 'format').choices(['table']))
      .option('--kubeconfig <path>', 'kubeconfig');
    const found = bad.options.flatMap((o) => deviations('x', o, false));
    expect(found).toEqual([
      'x -n, --dry-run: -n is --namespace only',
      'x --namespace <ns>: --namespace without -n',
      "x --namespace <ns>: --namespace is the application's namespace; the operator's is --operator-namespace",
      "x --namespace <ns>: the operator's namespace is --operator-namespace",
      'x --timeout <ms>: not a duration (30s → 30s)',
      'x --timeout <ms>: takes "soon" as a time',
      'x --output <f>: the output format is -o, --output',
      'x --output <f>: formats are text|json|yaml|wide|name',
      'x --kubeconfig <path>: an offline command with --kubeconfig',
    ]);
  });

  it('keeps the old spellings working, with a warning', async () => {
    const warned: string[] = [];
    const previous = setWarn((l) => warned.push(l));
    try {
      const program = await buildProgram(['node', 'sidecar-operator', 'iptables']);
      const cmd = program.commands.find((c) => c.name() === 'iptables')!;
      let seen: Record<string, unknown> = {};
      cmd.action((flags: Record<string, unknown>) => {
        seen = flags;
      });
      await program.parseAsync(['node', 'sidecar-operator', 'iptables', '-n', '-p', '15001']);
      expect(seen.dryRun).toBe(true);
      expect(warned).toEqual(['iptables -n is deprecated: use --dry-run']);

      const run = (await buildProgram(['node', 'sidecar-operator', 'run'])).commands[0]!;
      run.action((flags: Record<string, unknown>) => {
        seen = flags;
      });
      await run.parent!.parseAsync([
        'node',
        'sidecar-operator',
        'run',
        '--namespace',
        'ops',
        '--webhook-url',
        'https://x',
      ]);
      expect(seen.operatorNamespace).toBe('ops');
      expect(warned[1]).toBe('run --namespace is deprecated: use --operator-namespace');
    } finally {
      setWarn(previous);
    }
  });
});
