import { type Command, InvalidArgumentError, Option } from 'commander';

/**
 * The flag conventions every command follows, kubectl's: `-n/--namespace` is the application's
 * namespace, `--operator-namespace` the operator's, times are durations (`30s`, `2m`), `-o` chooses
 * the format of data, and a command that contacts a cluster takes `--kubeconfig` and `--context`.
 * src/cli/conventions.test.ts walks the command tree and holds every command to them.
 */

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

let sink = (line: string): void => void process.stderr.write(`sidecar-operator: warning: ${line}\n`);

/** A warning about a deprecated spelling, on stderr. */
export function warn(line: string): void {
  sink(line);
}

/** For tests: collect the warnings instead; returns the previous sink. */
export function setWarn(fn: (line: string) => void): (line: string) => void {
  const previous = sink;
  sink = fn;
  return previous;
}

/**
 * "30s", "10m", "90d", Go's "8760h" or "1h30m" (what Helm values and cert-manager use) →
 * milliseconds. A plain number is seconds (as kubectl reads one); `bareWas` names the unit a plain
 * number had before, when it was another, and a plain number then gets a warning.
 */
export function parseDuration(value: string, flag = 'duration', bareWas: 'ms' | 's' = 's'): number {
  const v = value.trim();
  if (/^\d+$/.test(v)) {
    if (bareWas !== 's')
      warn(
        `${flag} ${v}: a number without a unit is read as seconds (it was ${bareWas === 'ms' ? 'milliseconds' : bareWas}); write ${v}s or ${v}${bareWas}`,
      );
    return Number(v) * 1000;
  }
  const parts = [...v.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== v) {
    throw new InvalidArgumentError(`not a duration: ${value} (e.g. 30s, 2m, 2160h, 90d)`);
  }
  return Math.round(parts.reduce((sum, p) => sum + Number(p[1]) * (UNIT_MS[p[2]!] ?? 1), 0));
}

/** Milliseconds in the largest unit that divides them (help text: 15s, 5m, 365d). */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'])
    if (ms > 0 && ms % UNIT_MS[unit]! === 0) return `${ms / UNIT_MS[unit]!}${unit}`;
  return `${ms}ms`;
}

/** `--<name> <duration>`, parsed to milliseconds, its default shown as a duration. */
export function durationOption(
  name: string,
  description: string,
  defaultMs?: number,
  bareWas: 'ms' | 's' = 's',
): Option {
  const o = new Option(`--${name} <duration>`, `${description} (e.g. 30s, 2m)`).argParser((v: string) =>
    parseDuration(v, `--${name}`, bareWas),
  );
  return defaultMs === undefined ? o : o.default(defaultMs, formatDuration(defaultMs));
}

/** `-n, --namespace`: the application's namespace, always. */
export function namespaceOption(description: string, defaultValue?: string): Option {
  const o = new Option('-n, --namespace <namespace>', description);
  return defaultValue === undefined ? o : o.default(defaultValue);
}

/** `--operator-namespace`: where the operator runs. */
export function operatorNamespaceOption(description = 'the operator’s namespace'): Option {
  return new Option('--operator-namespace <namespace>', description);
}

/** `--kubeconfig` and `--context`, for every command that contacts a cluster. */
export function addClusterOptions(cmd: Command, when = ''): Command {
  return cmd
    .addOption(
      new Option(
        '--kubeconfig <path>',
        `${when}kubeconfig file (default: in-cluster, then $KUBECONFIG, ~/.kube/config)`,
      ),
    )
    .addOption(new Option('--context <name>', `${when}kubeconfig context`));
}

/** `-o, --output <format>`, for commands whose output is data. */
export function outputOption(formats: readonly string[], defaultFormat: string): Option {
  return new Option('-o, --output <format>', 'output format').choices(formats).default(defaultFormat);
}

/**
 * An old spelling kept working: hidden from help, it warns and sets the flag that replaced it (a
 * value given under the new name wins).
 */
export function addDeprecatedAlias(
  cmd: Command,
  old: string,
  replacement: { flag: string; attribute: string; value?: unknown },
): Command {
  const option = new Option(old, `deprecated: use ${replacement.flag}`).hideHelp();
  const attribute = option.attributeName();
  cmd.addOption(option);
  return cmd.hook('preAction', (_self, action) => {
    if (action !== cmd) return;
    const value = cmd.getOptionValue(attribute) as unknown;
    if (value === undefined) return;
    const spelled = option.long ?? option.short;
    warn(`${cmd.name()} ${spelled} is deprecated: use ${replacement.flag}`);
    if (cmd.getOptionValueSource(replacement.attribute) !== 'cli')
      cmd.setOptionValueWithSource(replacement.attribute, replacement.value ?? value, 'cli');
  });
}
