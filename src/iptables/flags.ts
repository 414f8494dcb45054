/**
 * The flags of `sidecar-operator iptables`, shaped like istio-iptables so that users can read them.
 * One table drives the CLI's option definitions, the injection engine's argument vector
 * (`buildIptablesArgs`) and its reverse (`parseIptablesArgs`), so the three cannot drift apart.
 */

/** Flag values as a plain object; every field is optional and an omitted one takes its default. */
export interface IptablesOptions {
  /** `-p`: port the proxy listens on for captured outbound traffic (15001). */
  proxyPort?: number;
  /** `-z`: port the proxy listens on for captured inbound traffic (15006). */
  inboundCapturePort?: number;
  /** `-u`: UID the proxy runs as; its traffic is never captured (1337). */
  proxyUid?: number;
  /** `-g`: GID the proxy runs as (defaults to the UID). */
  proxyGid?: number;
  /** `-m`: `REDIRECT` (nat) or `TPROXY` (mangle + policy routing, keeps the source address). */
  inboundInterceptionMode?: string;
  /** `-i`: outbound CIDRs to capture; `['*']` captures all, `[]` none. */
  outboundIpRangesInclude?: string[];
  /** `-x`: outbound CIDRs never captured. */
  outboundIpRangesExclude?: string[];
  /** `-b`: inbound ports to capture; `['*']` captures all, `[]` none. */
  inboundPortsInclude?: (string | number)[];
  /** `-d`: inbound ports never captured (only meaningful with `*`; exclusion always wins). */
  inboundPortsExclude?: (string | number)[];
  /** `-o`: outbound destination ports never captured. */
  outboundPortsExclude?: (string | number)[];
  /** `-t`: packet mark used by TPROXY (1337). */
  inboundTproxyMark?: number;
  /** `-r`: routing table that delivers TPROXY-marked packets locally (133). */
  inboundTproxyRouteTable?: number;
  /** `--ipv6` / `--no-ipv6`; omitted = detect from the pod's addresses. */
  ipv6?: boolean;
  /** `-n`: print what would be applied, change nothing. */
  dryRun?: boolean;
  /** `--cleanup`: remove the chains, hooks and routing rules instead of adding them. */
  cleanup?: boolean;
}

export type IptablesOptionKey = keyof IptablesOptions;

type FlagKind = 'number' | 'string' | 'list' | 'boolean';

export interface FlagSpec {
  key: IptablesOptionKey;
  short?: string;
  long: string;
  kind: FlagKind;
  /** Placeholder shown in help. */
  value?: string;
  description: string;
}

/** In the order `buildIptablesArgs` writes them. `key` is commander's camelCase of `long`. */
export const FLAG_SPECS: readonly FlagSpec[] = [
  {
    key: 'proxyPort',
    short: 'p',
    long: 'proxy-port',
    kind: 'number',
    value: 'port',
    description: 'outbound capture port (default 15001)',
  },
  {
    key: 'inboundCapturePort',
    short: 'z',
    long: 'inbound-capture-port',
    kind: 'number',
    value: 'port',
    description: 'inbound capture port (default 15006)',
  },
  {
    key: 'proxyUid',
    short: 'u',
    long: 'proxy-uid',
    kind: 'number',
    value: 'uid',
    description: 'UID of the proxy, whose traffic is not captured (default 1337)',
  },
  {
    key: 'proxyGid',
    short: 'g',
    long: 'proxy-gid',
    kind: 'number',
    value: 'gid',
    description: 'GID of the proxy (default: the UID)',
  },
  {
    key: 'inboundInterceptionMode',
    short: 'm',
    long: 'inbound-interception-mode',
    kind: 'string',
    value: 'mode',
    description: 'REDIRECT or TPROXY (default REDIRECT)',
  },
  {
    key: 'outboundIpRangesInclude',
    short: 'i',
    long: 'outbound-ip-ranges-include',
    kind: 'list',
    value: 'cidrs',
    description: "outbound CIDRs to capture, comma-separated; '*' = all (default '*')",
  },
  {
    key: 'outboundIpRangesExclude',
    short: 'x',
    long: 'outbound-ip-ranges-exclude',
    kind: 'list',
    value: 'cidrs',
    description: 'outbound CIDRs never captured, comma-separated',
  },
  {
    key: 'inboundPortsInclude',
    short: 'b',
    long: 'inbound-ports-include',
    kind: 'list',
    value: 'ports',
    description: "inbound ports to capture, comma-separated; '*' = all (default '*')",
  },
  {
    key: 'inboundPortsExclude',
    short: 'd',
    long: 'inbound-ports-exclude',
    kind: 'list',
    value: 'ports',
    description: 'inbound ports never captured, comma-separated',
  },
  {
    key: 'outboundPortsExclude',
    short: 'o',
    long: 'outbound-ports-exclude',
    kind: 'list',
    value: 'ports',
    description: 'outbound ports never captured, comma-separated',
  },
  {
    key: 'inboundTproxyMark',
    short: 't',
    long: 'inbound-tproxy-mark',
    kind: 'number',
    value: 'mark',
    description: 'packet mark for TPROXY (default 1337)',
  },
  {
    key: 'inboundTproxyRouteTable',
    short: 'r',
    long: 'inbound-tproxy-route-table',
    kind: 'number',
    value: 'table',
    description: 'routing table for TPROXY (default 133)',
  },
  {
    key: 'ipv6',
    long: 'ipv6',
    kind: 'boolean',
    description: 'also write ip6tables rules (default: when the pod has a global IPv6 address)',
  },
  {
    key: 'dryRun',
    short: 'n',
    long: 'dry-run',
    kind: 'boolean',
    description: 'print the iptables-restore input and ip commands, change nothing',
  },
  {
    key: 'cleanup',
    long: 'cleanup',
    kind: 'boolean',
    description: 'remove the chains, hooks and routing rules',
  },
];

/** A flag value the program cannot use; the message names the flag. */
export class IptablesFlagError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IptablesFlagError';
  }
}

/** The subcommand that reads these flags. */
export const IPTABLES_COMMAND = 'iptables';

function flagName(spec: FlagSpec): string {
  return spec.short ? `-${spec.short}/--${spec.long}` : `--${spec.long}`;
}

/**
 * The argument vector the init container runs after the entrypoint: `['iptables', '-p', '15001', …]`.
 * Omitted fields are omitted from the vector (the program's defaults apply); an empty list is written
 * as `''`, which means "none" and differs from omission (the default `*`).
 */
export function buildIptablesArgs(options: IptablesOptions): string[] {
  const args = [IPTABLES_COMMAND];
  for (const spec of FLAG_SPECS) {
    const v = options[spec.key];
    if (v === undefined) continue;
    const flag = spec.short ? `-${spec.short}` : `--${spec.long}`;
    if (spec.kind === 'boolean') {
      if (v === true) args.push(`--${spec.long}`);
      else if (spec.key === 'ipv6') args.push('--no-ipv6');
    } else if (Array.isArray(v)) {
      args.push(flag, v.map(String).join(','));
    } else {
      args.push(flag, String(v));
    }
  }
  return args;
}

function splitList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function toNumber(spec: FlagSpec, value: string): number {
  if (!/^\d+$/.test(value.trim())) {
    throw new IptablesFlagError(`${flagName(spec)}: "${value}" is not a non-negative integer`);
  }
  return Number(value.trim());
}

/**
 * Typed options from raw flag values keyed by option key (what commander's `opts()` yields, and what
 * `parseIptablesArgs` collects). Only shapes are checked here; ranges and meaning in `resolveConfig`.
 */
export function optionsFromStrings(
  raw: Partial<Record<IptablesOptionKey, string | boolean>>,
): IptablesOptions {
  const out: Record<string, unknown> = {};
  for (const spec of FLAG_SPECS) {
    const v = raw[spec.key];
    if (v === undefined) continue;
    if (spec.kind === 'boolean') {
      out[spec.key] = v === true;
    } else if (typeof v !== 'string') {
      throw new IptablesFlagError(`${flagName(spec)} needs a value`);
    } else if (spec.kind === 'number') {
      out[spec.key] = toNumber(spec, v);
    } else if (spec.kind === 'list') {
      out[spec.key] = splitList(v);
    } else {
      out[spec.key] = v.trim();
    }
  }
  return out;
}

function findSpec(token: string): FlagSpec | undefined {
  if (token.startsWith('--')) return FLAG_SPECS.find((s) => `--${s.long}` === token);
  return FLAG_SPECS.find((s) => s.short !== undefined && `-${s.short}` === token);
}

/**
 * The reverse of `buildIptablesArgs`: reads an argument vector (with or without the leading
 * `iptables`) back into options. Accepts `-p 15001`, `--proxy-port 15001` and `--proxy-port=15001`.
 */
export function parseIptablesArgs(argv: readonly string[]): IptablesOptions {
  const tokens = argv[0] === IPTABLES_COMMAND ? argv.slice(1) : [...argv];
  const raw: Partial<Record<IptablesOptionKey, string | boolean>> = {};
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] ?? '';
    const eq = token.startsWith('--') ? token.indexOf('=') : -1;
    const name = eq === -1 ? token : token.slice(0, eq);
    if (name === '--no-ipv6') {
      raw.ipv6 = false;
      continue;
    }
    const spec = findSpec(name);
    if (!spec) throw new IptablesFlagError(`unknown flag "${token}"`);
    if (spec.kind === 'boolean') {
      raw[spec.key] = true;
    } else if (eq !== -1) {
      raw[spec.key] = token.slice(eq + 1);
    } else {
      const value = tokens[++i];
      if (value === undefined) throw new IptablesFlagError(`${flagName(spec)} needs a value`);
      raw[spec.key] = value;
    }
  }
  return optionsFromStrings(raw);
}
