import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { V1PolicyRule } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { envtest } from './support.js';

const CHART = join(import.meta.dirname, '..', 'charts', 'sidecar-operator');
export const RELEASE = 'rbac';
export const FULLNAME = `${RELEASE}-sidecar-operator`;

export interface RoleDoc {
  kind: string;
  metadata: { name: string };
  rules?: V1PolicyRule[];
}

/** The chart's Roles and ClusterRoles, rendered by the real `helm template`. */
export async function renderRoles(namespace: string, set: string[] = []): Promise<RoleDoc[]> {
  const { stdout } = await promisify(execFile)(
    envtest().binaries.helm,
    ['template', RELEASE, CHART, '--namespace', namespace, ...set.flatMap((s) => ['--set', s])],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  return parseAllDocuments(stdout)
    .map((d) => d.toJS() as RoleDoc | null)
    .filter((d): d is RoleDoc => d?.kind === 'ClusterRole' || d?.kind === 'Role');
}

/** Whose role a rendered role is, from its name. */
export function holder(r: RoleDoc, namespace: string): string {
  const n = r.metadata.name;
  if (n === `${FULLNAME}-${namespace}-metrics-reader`) return 'scraper';
  if (n === `${FULLNAME}-uninstall` || n === `${FULLNAME}-uninstall-${namespace}`) return 'uninstall hook';
  if (n === FULLNAME || n === `${FULLNAME}-${namespace}`) return 'operator';
  throw new Error(`a ${r.kind} the test does not know: ${n}`);
}
