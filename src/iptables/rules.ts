import type { Cidr, Family } from './address.js';
import type { IptablesConfig } from './config.js';

/** Every chain the program owns starts with this; cleanup removes exactly these. */
export const CHAIN_PREFIX = 'SIDECAR_';

export const CHAINS = {
  inbound: 'SIDECAR_INBOUND',
  inRedirect: 'SIDECAR_IN_REDIRECT',
  output: 'SIDECAR_OUTPUT',
  redirect: 'SIDECAR_REDIRECT',
  divert: 'SIDECAR_DIVERT',
  tproxy: 'SIDECAR_TPROXY',
  restoreMark: 'SIDECAR_RESTORE_MARK',
} as const;

export type Table = 'nat' | 'mangle';

/** A jump from a built-in chain into ours: the only rules we place outside our own chains. */
export interface Hook {
  chain: 'PREROUTING' | 'OUTPUT';
  match: string;
  target: string;
}

/** What one `iptables-restore` run (one table, one family) must leave in place. */
export interface TableRules {
  family: Family;
  table: Table;
  /** Our chains, in declaration order; each is created if missing and flushed if present. */
  chains: string[];
  /** `-A` lines for our chains, in order. */
  rules: string[];
  hooks: Hook[];
}

interface FamilyAddresses {
  loopback: string;
  /** Source the proxy uses for inbound passthrough to the app (Istio's 127.0.0.6), so it is not re-captured. */
  passthroughSource: string;
}

const ADDRESSES: Record<Family, FamilyAddresses> = {
  ipv4: { loopback: '127.0.0.1/32', passthroughSource: '127.0.0.6/32' },
  ipv6: { loopback: '::1/128', passthroughSource: '::6/128' },
};

export function hookLine(h: Hook): string {
  return `-A ${h.chain} ${h.match} -j ${h.target}`;
}

function cidrsOf(list: Cidr[], family: Family): string[] {
  return list.filter((c) => c.family === family).map((c) => c.text);
}

/**
 * Inbound port selection as rules for `chain`: excluded ports RETURN first (only needed with `*`,
 * explicit lists already dropped them), then included ports — or all TCP — go to `targets`.
 */
function inboundSelection(
  config: IptablesConfig,
  chain: string,
  targets: (match: string) => string[],
): string[] {
  const out: string[] = [];
  if (config.inboundInclude === '*') {
    for (const p of config.inboundExclude) out.push(`-A ${chain} -p tcp --dport ${p} -j RETURN`);
    out.push(...targets('-p tcp'));
  } else {
    for (const p of config.inboundInclude) out.push(...targets(`-p tcp --dport ${p}`));
  }
  return out;
}

/** The owner checks that stop the redirect loop, for the UID then the GID (as Istio orders them). */
function ownerRules(config: IptablesConfig, a: FamilyAddresses): string[] {
  const c = CHAINS.output;
  const out: string[] = [];
  for (const [kind, id] of [
    ['uid', config.proxyUid],
    ['gid', config.proxyGid],
  ] as const) {
    // The proxy calling the pod's own address over lo goes to the inbound listener, like any inbound call.
    out.push(
      `-A ${c} -o lo ! -d ${a.loopback} -p tcp -m owner --${kind}-owner ${id} -j ${CHAINS.inRedirect}`,
    );
    // The app calling itself over lo (its own pod address) stays local.
    out.push(`-A ${c} -o lo -m owner ! --${kind}-owner ${id} -j RETURN`);
    // Everything else the proxy sends leaves as it is: this is what prevents the loop.
    out.push(`-A ${c} -m owner --${kind}-owner ${id} -j RETURN`);
  }
  return out;
}

/** The nat table: outbound capture in both modes, inbound capture in REDIRECT mode. */
export function natRules(config: IptablesConfig, family: Family): TableRules {
  const a = ADDRESSES[family];
  const redirect = config.mode === 'REDIRECT';
  const chains = [...(redirect ? [CHAINS.inbound] : []), CHAINS.inRedirect, CHAINS.output, CHAINS.redirect];
  const rules: string[] = [
    `-A ${CHAINS.inRedirect} -p tcp -j REDIRECT --to-ports ${config.inboundCapturePort}`,
    `-A ${CHAINS.redirect} -p tcp -j REDIRECT --to-ports ${config.proxyPort}`,
  ];
  if (redirect) {
    rules.push(
      ...inboundSelection(config, CHAINS.inbound, (m) => [
        `-A ${CHAINS.inbound} ${m} -j ${CHAINS.inRedirect}`,
      ]),
    );
  }
  const o = CHAINS.output;
  for (const p of config.outboundPortsExclude) rules.push(`-A ${o} -p tcp --dport ${p} -j RETURN`);
  rules.push(`-A ${o} -o lo -s ${a.passthroughSource} -j RETURN`);
  if (!redirect) {
    // The proxy's transparent connections to the app carry the TPROXY mark and keep the client's source.
    rules.push(`-A ${o} -p tcp -m mark --mark ${config.tproxyMark} -j RETURN`);
  }
  rules.push(...ownerRules(config, a));
  rules.push(`-A ${o} -d ${a.loopback} -j RETURN`);
  for (const cidr of cidrsOf(config.outboundExclude, family)) rules.push(`-A ${o} -d ${cidr} -j RETURN`);
  if (config.outboundInclude === '*') {
    rules.push(`-A ${o} -j ${CHAINS.redirect}`);
  } else {
    for (const cidr of cidrsOf(config.outboundInclude, family))
      rules.push(`-A ${o} -d ${cidr} -j ${CHAINS.redirect}`);
  }
  const hooks: Hook[] = [
    ...(redirect ? [{ chain: 'PREROUTING' as const, match: '-p tcp', target: CHAINS.inbound }] : []),
    { chain: 'OUTPUT', match: '-p tcp', target: CHAINS.output },
  ];
  return { family, table: 'nat', chains, rules, hooks };
}

/**
 * The mangle table for TPROXY: inbound packets are handed to the proxy's transparent listener with
 * their destination intact and marked, the mark routes them locally (see `ipRouteCommands`), and the
 * connection mark carries it to the app's replies so they return to the proxy rather than the client.
 */
export function mangleRules(config: IptablesConfig, family: Family): TableRules {
  const a = ADDRESSES[family];
  const mark = config.tproxyMark;
  const { inbound, divert, tproxy, restoreMark } = CHAINS;
  const rules: string[] = [
    `-A ${divert} -j MARK --set-mark ${mark}`,
    `-A ${divert} -j ACCEPT`,
    `-A ${tproxy} ! -d ${a.loopback} -p tcp -j TPROXY --on-port ${config.inboundCapturePort} --tproxy-mark ${mark}/0xffffffff`,
    `-A ${inbound} -p tcp -m mark --mark ${mark} -j CONNMARK --save-mark`,
    // Already marked means the proxy sent it (transparently, to the app): never capture it again.
    `-A ${inbound} -p tcp -m mark --mark ${mark} -j RETURN`,
    ...inboundSelection(config, inbound, (m) => [
      `-A ${inbound} ${m} -m conntrack --ctstate RELATED,ESTABLISHED -j ${divert}`,
      `-A ${inbound} ${m} -j ${tproxy}`,
    ]),
    `-A ${restoreMark} -p tcp -m connmark --mark ${mark} -j CONNMARK --restore-mark`,
  ];
  return {
    family,
    table: 'mangle',
    chains: [inbound, divert, tproxy, restoreMark],
    rules,
    hooks: [
      { chain: 'PREROUTING', match: '-p tcp', target: inbound },
      { chain: 'OUTPUT', match: '-p tcp', target: restoreMark },
    ],
  };
}

/** The tables to write for one family, in the order they are applied. */
export function familyRules(config: IptablesConfig, family: Family): TableRules[] {
  return config.mode === 'TPROXY'
    ? [mangleRules(config, family), natRules(config, family)]
    : [natRules(config, family)];
}
