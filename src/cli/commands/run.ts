import { Command, InvalidArgumentError, Option } from 'commander';
import {
  DEFAULTS,
  RUN_FLAGS,
  startOperator,
  type FlagSpec,
  type OperatorConfig,
  type OperatorSettings,
} from '../../operator/index.js';
import { addDeprecatedAlias, formatDuration, parseDuration } from '../flags.js';
import { CliError } from '../errors.js';
import { createLogger, type LogFormat } from '../logger.js';

/** The parsed flags, by commander's attribute names (`--cert-secret` → certSecret). */
export type RunFlags = Record<string, unknown>;

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`not a port: ${value}`);
  return n;
}

/** A positive count (0 means 1: at least one worker). */
function parseCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`not a count: ${value}`);
  return Math.max(1, n);
}

function parseBool(value: string): boolean {
  if (/^(true|1|yes)$/i.test(value)) return true;
  if (/^(false|0|no)$/i.test(value)) return false;
  throw new InvalidArgumentError(`not a boolean: ${value}`);
}

const parseList = (v: string): string[] =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

const PARSERS: Partial<Record<FlagSpec['kind'], (v: string, flag: string) => unknown>> = {
  port: parsePort,
  count: parseCount,
  bool: parseBool,
  // A plain number was milliseconds before durations were read the same way everywhere.
  duration: (v, flag) => parseDuration(v, flag, 'ms'),
  list: parseList,
};

/** The commander option of one RUN_FLAGS entry, its default taken from DEFAULTS. */
export function flagOption(name: string, spec: FlagSpec): Option {
  const o = new Option(`--${name} <${spec.arg}>`, spec.description);
  if (spec.env) o.env(spec.env);
  if (spec.choices) o.choices(spec.choices);
  const parse = PARSERS[spec.kind];
  if (parse) o.argParser((v: string) => parse(v, `--${name}`));
  const value = (DEFAULTS as Partial<Record<keyof OperatorSettings, unknown>>)[spec.setting];
  if (value !== undefined) {
    o.default(value, spec.kind === 'duration' ? formatDuration(value as number) : undefined);
  }
  return o;
}

/** Set flags onto settings; an empty value and a switch left off at its default are not written. */
function settingsFromFlags(f: RunFlags): Partial<OperatorSettings> {
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(RUN_FLAGS)) {
    const value = f[new Option(`--${name}`).attributeName()];
    if (value === undefined || value === '' || (Array.isArray(value) && value.length === 0)) continue;
    if (value === false && (DEFAULTS as Record<string, unknown>)[spec.setting] === false) continue;
    out[spec.setting] = value;
  }
  return out;
}

export function configFromFlags(f: RunFlags, log: OperatorConfig['log']): OperatorConfig {
  const { kubeconfig, context, ...settings } = settingsFromFlags(f);
  if (!settings.serviceName && !settings.webhookUrl) {
    throw new CliError('run: one of --service-name or --webhook-url is required', 2);
  }
  return {
    log,
    kubeconfig: { ...(kubeconfig ? { kubeconfig } : {}), ...(context ? { context } : {}) },
    ...settings,
  };
}

export function register(program: Command): void {
  const run = program
    .command('run')
    .description('run the operator: the webhook on every replica, the controller on the elected leader');
  for (const [name, spec] of Object.entries(RUN_FLAGS)) run.addOption(flagOption(name, spec));
  // The chart passed --namespace before 0.2: a Deployment rendered by an older chart still runs.
  addDeprecatedAlias(run, '--namespace <namespace>', {
    flag: '--operator-namespace',
    attribute: 'operatorNamespace',
  });
  run.action(async (flags: RunFlags) => {
    const log = await createLogger({ level: flags.logLevel as string, format: flags.logFormat as LogFormat });
    const config = configFromFlags(flags, log);
    const handle = await startOperator(config);
    await new Promise<void>((resolve) => {
      const stop = (signal: string): void => {
        log.info({ signal }, 'shutting down');
        resolve();
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
    await handle.stop();
  });
}
