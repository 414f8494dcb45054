import type { Family } from './address.js';
import type { IptablesConfig } from './config.js';
import { CHAIN_PREFIX, familyRules, hookLine, type TableRules, type Table } from './rules.js';
import { countRule, type SavedTable } from './saved.js';

/** One `ip` invocation. */
export interface IpStep {
  argv: string[];
  /** Skip the step when this command prints anything (the rule is already there). */
  skipIfOutput?: string[];
  /** Repeat until it fails: deletes every copy. */
  repeatUntilFailure?: boolean;
  /** A failure is not an error (removing something that may not exist). */
  optional?: boolean;
}

/** Everything `apply` will do, decided before anything is touched. */
export interface Plan {
  cleanup: boolean;
  families: Family[];
  tables: TableRules[];
  /** Before the tables when applying (so marked packets already route), after them when cleaning up. */
  ipSteps: IpStep[];
}

export const TOOLS: Record<Family, { restore: string; save: string; iptables: string; ipFlag: string }> = {
  ipv4: { restore: 'iptables-restore', save: 'iptables-save', iptables: 'iptables', ipFlag: '-4' },
  ipv6: { restore: 'ip6tables-restore', save: 'ip6tables-save', iptables: 'ip6tables', ipFlag: '-6' },
};

function tproxyRouting(config: IptablesConfig, family: Family, cleanup: boolean): IpStep[] {
  const f = TOOLS[family].ipFlag;
  const mark = String(config.tproxyMark);
  const table = String(config.tproxyRouteTable);
  const rule = ['fwmark', mark, 'lookup', table];
  if (cleanup) {
    return [
      { argv: ['ip', f, 'rule', 'del', ...rule], repeatUntilFailure: true, optional: true },
      { argv: ['ip', f, 'route', 'flush', 'table', table], optional: true },
    ];
  }
  return [
    { argv: ['ip', f, 'rule', 'add', ...rule], skipIfOutput: ['ip', f, 'rule', 'show', ...rule] },
    {
      argv: [
        'ip',
        f,
        'route',
        'replace',
        'local',
        family === 'ipv4' ? '0.0.0.0/0' : '::/0',
        'dev',
        'lo',
        'table',
        table,
      ],
    },
  ];
}

/**
 * The proxy's inbound passthrough connects to the application from ::6, which the OUTPUT rules let
 * through (`-s ::6/128 -j RETURN`), so it is not captured again. IPv4 needs nothing (all of
 * 127.0.0.0/8 is local), but lo holds only ::1/128: ::6 is added to it, as Istio does.
 */
function passthroughSource(cleanup: boolean): IpStep[] {
  if (cleanup) return [{ argv: ['ip', '-6', 'addr', 'del', '::6/128', 'dev', 'lo'], optional: true }];
  return [
    {
      argv: ['ip', '-6', 'addr', 'add', '::6/128', 'dev', 'lo'],
      skipIfOutput: ['ip', '-6', 'addr', 'show', 'dev', 'lo', 'to', '::6/128'],
    },
  ];
}

export function buildPlan(config: IptablesConfig, families: Family[]): Plan {
  const tables = families.flatMap((f) => familyRules(config, f));
  // Cleanup removes every table and routing rule we may have written, whatever mode wrote them.
  const tproxy = config.cleanup || config.mode === 'TPROXY';
  const ipSteps = [
    ...(families.includes('ipv6') ? passthroughSource(config.cleanup) : []),
    ...(tproxy ? families.flatMap((f) => tproxyRouting(config, f, config.cleanup)) : []),
  ];
  if (config.cleanup) {
    const cleanTables = families.flatMap((family) =>
      (['mangle', 'nat'] as const).map((table): TableRules => ({
        family,
        table,
        chains: [],
        rules: [],
        hooks: [],
      })),
    );
    return { cleanup: true, families, tables: cleanTables, ipSteps };
  }
  return { cleanup: false, families, tables, ipSteps };
}

/**
 * `iptables-restore --noflush` input that leaves exactly our rules: declaring a chain creates it or
 * flushes it, our rules are re-added, and a hook into a built-in chain is added only when `existing`
 * (the table as it is now) does not already have it — so applying twice leaves one copy.
 */
export function renderRestore(t: TableRules, existing?: SavedTable): string {
  const lines = [`*${t.table}`, ...t.chains.map((c) => `:${c} - [0:0]`), ...t.rules];
  for (const h of t.hooks) {
    const line = hookLine(h);
    if (countRule(existing, line) === 0) lines.push(line);
  }
  lines.push('COMMIT');
  return lines.join('\n') + '\n';
}

function ownTarget(rule: string): boolean {
  const m = / -j (\S+)/.exec(rule);
  return m?.[1]?.startsWith(CHAIN_PREFIX) === true;
}

/**
 * Input that removes our hooks (every copy, from any built-in chain), then flushes and deletes our
 * chains. Undefined when the table holds nothing of ours.
 */
export function renderCleanup(table: Table, existing: SavedTable | undefined): string | undefined {
  if (!existing) return undefined;
  const ours = existing.chains.filter((c) => c.startsWith(CHAIN_PREFIX));
  const hooks = existing.rules.filter((r) => {
    const chain = r.split(/\s+/)[1] ?? '';
    return !chain.startsWith(CHAIN_PREFIX) && ownTarget(r);
  });
  if (ours.length === 0 && hooks.length === 0) return undefined;
  const lines = [
    `*${table}`,
    ...hooks.map((r) => r.replace(/^-A /, '-D ')),
    ...ours.map((c) => `-F ${c}`),
    ...ours.map((c) => `-X ${c}`),
    'COMMIT',
  ];
  return lines.join('\n') + '\n';
}

/** Cleanup input for a table holding every chain and hook the program can write (for `--dry-run`). */
export function fullCleanupExample(config: IptablesConfig, family: Family, table: Table): string | undefined {
  const all = [
    ...familyRules({ ...config, mode: 'REDIRECT' }, family),
    ...familyRules({ ...config, mode: 'TPROXY' }, family),
  ].filter((t) => t.table === table);
  const chains = [...new Set(all.flatMap((t) => t.chains))];
  const hooks = [...new Set(all.flatMap((t) => t.hooks.map(hookLine)))];
  return renderCleanup(table, { chains, rules: hooks });
}

/** The exact text `--dry-run` prints. */
export function formatDryRun(config: IptablesConfig, plan: Plan, familySource: string): string {
  const out: string[] = [
    `# sidecar-operator iptables ${plan.cleanup ? '--cleanup ' : ''}--dry-run: nothing is changed`,
    `# mode ${config.mode}, families ${plan.families.join(', ')} (${familySource})`,
  ];
  const ip = plan.ipSteps.map((s) => s.argv.join(' '));
  if (!plan.cleanup && ip.length > 0) out.push('', '# ip commands', ...ip);
  for (const t of plan.tables) {
    const text = plan.cleanup ? fullCleanupExample(config, t.family, t.table) : renderRestore(t);
    if (text === undefined) continue;
    const note = plan.cleanup
      ? ', for a pod holding every chain and hook'
      : ', hooks present already are not re-added';
    out.push('', `# ${TOOLS[t.family].restore} --noflush (${t.table}${note})`, text.trimEnd());
  }
  if (plan.cleanup && ip.length > 0) out.push('', '# ip commands', ...ip);
  return out.join('\n') + '\n';
}
