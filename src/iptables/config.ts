import { parseCidr, type Cidr } from './address.js';
import { IptablesFlagError, type IptablesOptions } from './flags.js';

export type InterceptionMode = 'REDIRECT' | 'TPROXY';

/** `'*'` = everything, otherwise an explicit (possibly empty) list. */
export type Selection<T> = '*' | T[];

/** Validated, defaulted configuration: everything the rule builder needs and nothing it must check. */
export interface IptablesConfig {
  proxyPort: number;
  inboundCapturePort: number;
  proxyUid: number;
  proxyGid: number;
  mode: InterceptionMode;
  outboundInclude: Selection<Cidr>;
  outboundExclude: Cidr[];
  inboundInclude: Selection<number>;
  inboundExclude: number[];
  outboundPortsExclude: number[];
  tproxyMark: number;
  tproxyRouteTable: number;
  /** `undefined` = detect from the pod's addresses. */
  ipv6: boolean | undefined;
  dryRun: boolean;
  cleanup: boolean;
}

export const DEFAULTS = {
  proxyPort: 15001,
  inboundCapturePort: 15006,
  proxyUid: 1337,
  inboundInterceptionMode: 'REDIRECT',
  tproxyMark: 1337,
  tproxyRouteTable: 133,
} as const;

function port(flag: string, v: number | string): number {
  const n = typeof v === 'number' ? v : /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    throw new IptablesFlagError(`${flag}: "${v}" is not a port (1-65535)`);
  }
  return n;
}

function positiveId(flag: string, v: number, max: number, what: string): number {
  if (!Number.isInteger(v) || v < 1 || v > max) {
    throw new IptablesFlagError(`${flag}: ${v} is not a valid ${what} (1-${max})`);
  }
  return v;
}

function selection<T>(
  flag: string,
  items: readonly (string | number)[],
  each: (s: string) => T,
): Selection<T> {
  const texts = items.map((s) => String(s).trim()).filter((s) => s !== '');
  if (texts.includes('*')) {
    if (texts.length > 1) throw new IptablesFlagError(`${flag}: '*' cannot be mixed with other values`);
    return '*';
  }
  return texts.map(each);
}

function cidr(flag: string): (s: string) => Cidr {
  return (s) => {
    const c = parseCidr(s);
    if (typeof c === 'string') throw new IptablesFlagError(`${flag}: ${c}`);
    return c;
  };
}

function exclusions<T>(flag: string, items: readonly (string | number)[], each: (s: string) => T): T[] {
  const sel = selection(flag, items, each);
  if (sel === '*') throw new IptablesFlagError(`${flag}: '*' is not allowed in an exclusion list`);
  return sel;
}

function unique<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}

function interceptionMode(v: string | undefined): InterceptionMode {
  const m = (v ?? DEFAULTS.inboundInterceptionMode).toUpperCase();
  if (m !== 'REDIRECT' && m !== 'TPROXY') {
    throw new IptablesFlagError(`-m/--inbound-interception-mode: unknown mode "${v}" (REDIRECT or TPROXY)`);
  }
  return m;
}

/** Validates and defaults flag values. Throws `IptablesFlagError` naming the first bad flag. */
export function resolveConfig(o: IptablesOptions): IptablesConfig {
  const proxyUid = positiveId(
    '-u/--proxy-uid',
    o.proxyUid ?? DEFAULTS.proxyUid,
    2 ** 32 - 2,
    'UID (not root)',
  );
  const inbound = selection('-b/--inbound-ports-include', o.inboundPortsInclude ?? ['*'], (s) =>
    port('-b/--inbound-ports-include', s),
  );
  const inboundExclude = exclusions('-d/--inbound-ports-exclude', o.inboundPortsExclude ?? [], (s) =>
    port('-d/--inbound-ports-exclude', s),
  );
  const config: IptablesConfig = {
    proxyPort: port('-p/--proxy-port', o.proxyPort ?? DEFAULTS.proxyPort),
    inboundCapturePort: port(
      '-z/--inbound-capture-port',
      o.inboundCapturePort ?? DEFAULTS.inboundCapturePort,
    ),
    proxyUid,
    proxyGid: positiveId('-g/--proxy-gid', o.proxyGid ?? proxyUid, 2 ** 32 - 2, 'GID (not root)'),
    mode: interceptionMode(o.inboundInterceptionMode),
    outboundInclude: selection(
      '-i/--outbound-ip-ranges-include',
      o.outboundIpRangesInclude ?? ['*'],
      cidr('-i/--outbound-ip-ranges-include'),
    ),
    outboundExclude: exclusions(
      '-x/--outbound-ip-ranges-exclude',
      o.outboundIpRangesExclude ?? [],
      cidr('-x/--outbound-ip-ranges-exclude'),
    ),
    // An explicitly included port that is also excluded stays excluded: exclusion always wins.
    inboundInclude: inbound === '*' ? '*' : unique(inbound.filter((p) => !inboundExclude.includes(p))),
    inboundExclude: unique(inboundExclude),
    outboundPortsExclude: unique(
      exclusions('-o/--outbound-ports-exclude', o.outboundPortsExclude ?? [], (s) =>
        port('-o/--outbound-ports-exclude', s),
      ),
    ),
    tproxyMark: positiveId(
      '-t/--inbound-tproxy-mark',
      o.inboundTproxyMark ?? DEFAULTS.tproxyMark,
      2 ** 32 - 1,
      'mark',
    ),
    tproxyRouteTable: positiveId(
      '-r/--inbound-tproxy-route-table',
      o.inboundTproxyRouteTable ?? DEFAULTS.tproxyRouteTable,
      252,
      'routing table',
    ),
    ipv6: o.ipv6,
    dryRun: o.dryRun === true,
    cleanup: o.cleanup === true,
  };
  if (config.proxyPort === config.inboundCapturePort) {
    throw new IptablesFlagError('-p/--proxy-port and -z/--inbound-capture-port must differ');
  }
  return config;
}
