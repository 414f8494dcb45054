/** Which kernel interface the `iptables` binary drives; Debian's default is nf_tables. */
export interface Backend {
  name: 'nf_tables' | 'legacy' | 'unknown';
  version: string;
}

/** Reads `iptables --version` output, e.g. `iptables v1.8.9 (nf_tables)`. */
export function parseBackend(versionOutput: string): Backend {
  const line = versionOutput.trim().split('\n')[0] ?? '';
  const version = /v(\d+(?:\.\d+)*)/.exec(line)?.[1] ?? 'unknown';
  if (line.includes('nf_tables')) return { name: 'nf_tables', version };
  // Old releases print no backend at all; they only had the legacy one.
  if (line.includes('legacy') || /^iptables v/.test(line)) return { name: 'legacy', version };
  return { name: 'unknown', version };
}

/**
 * Whether the pod has IPv6 worth capturing: a global-scope address on an interface other than lo,
 * read from `/proc/net/if_inet6` (address, index, prefix length, scope, flags, name).
 */
export function hasGlobalIPv6(ifInet6: string): boolean {
  return ifInet6.split('\n').some((line) => {
    const f = line.trim().split(/\s+/);
    return f.length >= 6 && f[3] === '00' && f[5] !== 'lo';
  });
}
