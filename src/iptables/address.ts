/** An address family as iptables sees it: `iptables` for ipv4, `ip6tables` for ipv6. */
export type Family = 'ipv4' | 'ipv6';

/** A validated CIDR: the text handed to iptables (always with a prefix length) and its family. */
export interface Cidr {
  family: Family;
  text: string;
}

const IPV4_OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const IPV6_GROUP = /^[0-9a-fA-F]{1,4}$/;

function isIPv4(s: string): boolean {
  const parts = s.split('.');
  return parts.length === 4 && parts.every((p) => IPV4_OCTET.test(p));
}

/** Counts the 16-bit groups of one side of a `::`, or -1 when malformed (an embedded IPv4 counts as 2). */
function countGroups(side: string, allowTrailingIPv4: boolean): number {
  if (side === '') return 0;
  const groups = side.split(':');
  let n = 0;
  for (const [i, g] of groups.entries()) {
    if (allowTrailingIPv4 && i === groups.length - 1 && g.includes('.')) {
      if (!isIPv4(g)) return -1;
      n += 2;
    } else if (IPV6_GROUP.test(g)) {
      n += 1;
    } else {
      return -1;
    }
  }
  return n;
}

function isIPv6(s: string): boolean {
  const halves = s.split('::');
  if (halves.length > 2) return false;
  if (halves.length === 1) return countGroups(s, true) === 8;
  const head = countGroups(halves[0] ?? '', false);
  const tail = countGroups(halves[1] ?? '', true);
  return head >= 0 && tail >= 0 && head + tail <= 7;
}

/**
 * Parses `a.b.c.d[/n]` or an IPv6 address with an optional `/n`. A bare address is a host route
 * (/32 or /128). Returns an error sentence instead of throwing so callers can name the flag.
 */
export function parseCidr(input: string): Cidr | string {
  const s = input.trim();
  const slash = s.indexOf('/');
  const addr = slash === -1 ? s : s.slice(0, slash);
  const prefixText = slash === -1 ? undefined : s.slice(slash + 1);
  const family: Family | undefined = isIPv4(addr) ? 'ipv4' : isIPv6(addr) ? 'ipv6' : undefined;
  if (!family) return `"${input}" is not an IPv4 or IPv6 address or CIDR`;
  const max = family === 'ipv4' ? 32 : 128;
  if (prefixText === undefined) return { family, text: `${addr}/${max}` };
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) {
    return `"${input}" has an invalid prefix length (0-${max})`;
  }
  return { family, text: `${addr}/${Number(prefixText)}` };
}
