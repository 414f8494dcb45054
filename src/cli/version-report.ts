/** What `version` found: the client's, and, from the cluster, the operator's and the CRD's. */
export interface VersionInfo {
  client: { version: string; apiVersion: string };
  /** The operator's Deployments (none: not installed, or running outside the cluster). */
  operators?: { namespace: string; name: string; version?: string; image?: string }[];
  /** The SidecarPolicy CRD, undefined when it is not installed. */
  crd?: { name: string; served: string[]; storage?: string };
  /** Why the cluster could not be asked. */
  unreachable?: string;
}

/** The version a Deployment runs: its app.kubernetes.io/version label, else its image's tag. */
export function operatorVersion(labels: Record<string, string> | undefined, image: string | undefined) {
  const label = labels?.['app.kubernetes.io/version'];
  const tag = image && /:([^:/@]+)(@.*)?$/.exec(image)?.[1];
  const v = label ?? tag;
  return v?.replace(/^v(?=\d)/, '');
}

/** Skew between the client and what the cluster runs, one warning each. */
export function skewWarnings(info: VersionInfo): string[] {
  const out: string[] = [];
  for (const op of info.operators ?? []) {
    if (op.version === undefined)
      out.push(
        `operator ${op.namespace}/${op.name}: no version (no app.kubernetes.io/version label, no image tag)`,
      );
    else if (op.version !== info.client.version)
      out.push(
        `version skew: this client is ${info.client.version}, operator ${op.namespace}/${op.name} runs ${op.version}; use the client of the operator's version`,
      );
  }
  if (info.crd && !info.crd.served.includes(info.client.apiVersion))
    out.push(
      `the cluster's ${info.crd.name} serves ${info.crd.served.join(', ') || 'no version'}, not ${info.client.apiVersion}, which this client reads and writes`,
    );
  return out;
}

/** The text report, kubectl version's layout. */
export function formatVersion(info: VersionInfo, clientOnly: boolean): string {
  const lines = [`Client Version: ${info.client.version} (SidecarPolicy ${info.client.apiVersion})`];
  if (clientOnly) return `${lines[0]}\n`;
  if (info.unreachable !== undefined) return `${lines[0]}\n`;
  const ops = info.operators ?? [];
  if (ops.length === 0)
    lines.push(
      'Operator Version: not found (no Deployment labelled app.kubernetes.io/part-of=sidecar-operator)',
    );
  for (const op of ops)
    lines.push(
      `Operator Version: ${op.version ?? 'unknown'} (${op.namespace}/${op.name}${op.image ? `, ${op.image}` : ''})`,
    );
  lines.push(
    info.crd
      ? `SidecarPolicy API: ${info.crd.served.join(', ') || 'none'} served${info.crd.storage ? `, ${info.crd.storage} stored` : ''}`
      : 'SidecarPolicy API: not installed (no CRD sidecarpolicies.sidecar.dev)',
  );
  return `${lines.join('\n')}\n`;
}
