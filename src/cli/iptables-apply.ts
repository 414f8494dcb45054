import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Family } from '../iptables/address.js';
import type { IptablesConfig } from '../iptables/config.js';
import { hasGlobalIPv6, parseBackend, type Backend } from '../iptables/detect.js';
import {
  buildPlan,
  formatDryRun,
  renderCleanup,
  renderRestore,
  TOOLS,
  type IpStep,
  type Plan,
} from '../iptables/plan.js';
import { parseSave } from '../iptables/saved.js';

export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs one command; a seam so the sequencing can be exercised without touching the host. */
export type Runner = (argv: string[], input?: string) => RunResult;

export const spawnRunner: Runner = (argv, input) => {
  const [cmd = '', ...args] = argv;
  const r = spawnSync(cmd, args, { input, encoding: 'utf8' });
  if (r.error) return { status: 127, stdout: '', stderr: r.error.message };
  return { status: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
};

/** A step that failed; the message names the command and, for iptables-restore, the failing rule. */
export class IptablesApplyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IptablesApplyError';
  }
}

export interface ApplyEnv {
  run: Runner;
  /** Contents of /proc/net/if_inet6, or undefined when the kernel has no IPv6. */
  readIfInet6: () => string | undefined;
  out: (line: string) => void;
}

export const processEnv: ApplyEnv = {
  run: spawnRunner,
  readIfInet6: () => {
    try {
      return readFileSync('/proc/net/if_inet6', 'utf8');
    } catch {
      return undefined;
    }
  },
  out: (line) => process.stdout.write(line + '\n'),
};

function resolveFamilies(config: IptablesConfig, env: ApplyEnv): { families: Family[]; source: string } {
  if (config.ipv6 === true) return { families: ['ipv4', 'ipv6'], source: '--ipv6' };
  if (config.ipv6 === false) return { families: ['ipv4'], source: '--no-ipv6' };
  // Whatever an earlier run decided, cleanup looks in both families.
  if (config.cleanup) return { families: ['ipv4', 'ipv6'], source: 'cleanup covers both' };
  const text = env.readIfInet6();
  return text !== undefined && hasGlobalIPv6(text)
    ? { families: ['ipv4', 'ipv6'], source: 'global IPv6 address detected' }
    : { families: ['ipv4'], source: 'no global IPv6 address detected' };
}

function describe(argv: string[]): string {
  return argv.join(' ');
}

function must(env: ApplyEnv, argv: string[], input?: string): RunResult {
  const r = env.run(argv, input);
  if (r.status !== 0) {
    throw new IptablesApplyError(`${describe(argv)} failed (exit ${r.status}): ${oneLine(r.stderr)}`);
  }
  return r;
}

function oneLine(s: string): string {
  return s.trim().split('\n').filter(Boolean).join('; ');
}

/** iptables-restore names the failing line by number; show the line itself too. */
function restore(env: ApplyEnv, family: Family, table: string, input: string): void {
  const argv = [TOOLS[family].restore, '--noflush'];
  const r = env.run(argv, input);
  if (r.status === 0) return;
  const n = /line:?\s*(\d+)/i.exec(r.stderr)?.[1];
  const line = n === undefined ? undefined : input.split('\n')[Number(n) - 1];
  const where = line === undefined ? '' : ` at line ${n}: ${line}`;
  throw new IptablesApplyError(
    `${describe(argv)} (${family} ${table}) failed${where} (exit ${r.status}): ${oneLine(r.stderr)}`,
  );
}

function runIpStep(env: ApplyEnv, step: IpStep): void {
  if (step.skipIfOutput) {
    const shown = env.run(step.skipIfOutput);
    if (shown.status === 0 && shown.stdout.trim() !== '') return;
  }
  if (step.repeatUntilFailure) {
    // Bounded: a rule that cannot be deleted must not spin forever.
    for (let i = 0; i < 64 && env.run(step.argv).status === 0; i++);
    return;
  }
  if (step.optional) env.run(step.argv);
  else must(env, step.argv);
}

function detectBackend(env: ApplyEnv): Backend {
  const r = must(env, [TOOLS.ipv4.iptables, '--version']);
  return parseBackend(r.stdout + r.stderr);
}

function applyTables(env: ApplyEnv, plan: Plan): void {
  for (const t of plan.tables) {
    const saveArgv = [TOOLS[t.family].save, '-t', t.table];
    // A kernel without IPv6 cannot hold IPv6 rules: nothing to clean there.
    if (plan.cleanup && t.family === 'ipv6' && env.run(saveArgv).status !== 0) continue;
    const saved = parseSave(must(env, saveArgv).stdout)[t.table];
    if (plan.cleanup) {
      const input = renderCleanup(t.table, saved);
      if (input === undefined) continue;
      restore(env, t.family, t.table, input);
      env.out(`removed ${t.family} ${t.table} chains and hooks`);
    } else {
      restore(env, t.family, t.table, renderRestore(t, saved));
      env.out(
        `applied ${t.family} ${t.table}: ${t.chains.length} chains, ${t.rules.length + t.hooks.length} rules`,
      );
    }
  }
}

/**
 * Applies (or with `cleanup` removes) the rules: one `iptables-restore --noflush` per table and
 * family, so each table changes atomically. With `dryRun` it only prints what it would do.
 */
export function applyIptables(config: IptablesConfig, env: ApplyEnv = processEnv): Plan {
  const { families, source } = resolveFamilies(config, env);
  const plan = buildPlan(config, families);
  if (config.dryRun) {
    env.out(formatDryRun(config, plan, source).trimEnd());
    return plan;
  }
  const backend = detectBackend(env);
  env.out(
    `iptables backend: ${backend.name} (iptables v${backend.version}); families ${families.join(', ')} (${source})`,
  );
  if (plan.cleanup) {
    applyTables(env, plan);
    for (const step of plan.ipSteps) runIpStep(env, step);
  } else {
    for (const step of plan.ipSteps) runIpStep(env, step);
    applyTables(env, plan);
  }
  return plan;
}
