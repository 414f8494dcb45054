import { Command, InvalidArgumentError, Option } from 'commander';
import {
  DEFAULTS,
  RUN_FLAGS,
  startOperator,
  type FlagSpec,
  type OperatorConfig,
  type OperatorSettings,
} from '../../operator/index.js';
import { createLogger, type LogFormat } from '../logger.js';

/** The parsed flags, by commander's attribute names (`--cert-secret` → certSecret). */
export type RunFlags = Record<string, unknown>;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * "30s", "10m", "90d", Go's "8760h" or "1h30m" (what Helm values and cert-manager use), or plain
 * milliseconds → milliseconds.
 */
export function parseDuration(value: string): number {
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v);
  const parts = [...v.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== v) {
    throw new InvalidArgumentError(`not a duration: ${value} (e.g. 30s, 10m, 2160h, 90d)`);
  }
  return Math.round(parts.reduce((sum, p) => sum + Number(p[1]) * (UNIT_MS[p[2]!] ?? 1), 0));
}

/** Milliseconds in the largest unit that divides them (help text: 15s, 5m, 365d). */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'])
    if (ms > 0 && ms % UNIT_MS[unit]! === 0) return `${ms / UNIT_MS[unit]!}${unit}`;
  return `${ms}ms`;
}

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

const PARSERS: Partial<Record<FlagSpec['kind'], (v: string) => unknown>> = {
  port: parsePort,
  count: parseCount,
  bool: parseBool,
  duration: parseDuration,
  list: parseList,
};

/** The commander option of one RUN_FLAGS entry, its default taken from DEFAULTS. */
export function flagOption(name: string, spec: FlagSpec): Option {
  const o = new Option(`--${name} <${spec.arg}>`, spec.description);
  if (spec.env) o.env(spec.env);
  if (spec.choices) o.choices(spec.choices);
  const parse = PARSERS[spec.kind];
  if (parse) o.argParser(parse);
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
    throw new InvalidArgumentError('one of --service-name or --webhook-url is required');
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
  run.action(async (flags: RunFlags) => {
    const log = createLogger({ level: flags.logLevel as string, format: flags.logFormat as LogFormat });
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
