import { renameSync, writeFileSync } from 'node:fs';
import { hasGlobalIPv6 } from '../iptables/detect.js';
import { processEnv } from './iptables-apply.js';
// Not the engine's index: sidecar-init runs this at every pod start and needs only these two.
import { PROXY_CONFIG_ENV, PROXY_CONFIG_FILE_ENV } from '../inject/proxy-config-names.js';
import { resolveAtStart } from '../inject/proxy-config-start.js';
import { CliError } from './errors.js';

/** The init container's environment, as the webhook set it (see src/inject/compile.ts). */
export type InitEnv = Readonly<Record<string, string | undefined>>;

/** Whether the pod has IPv6 to serve: the flag when given, else the same test the iptables rules use. */
export function detectIPv6(flag: boolean | undefined): boolean {
  if (flag !== undefined) return flag;
  return hasGlobalIPv6(processEnv.readIfInet6() ?? '');
}

/**
 * Writes the proxy's configuration named by the environment, with the pod-start substitutions made,
 * and returns where and how much; undefined when the environment names none (bootstrap mode None, or
 * a pod injected before the operator rendered configurations). Written to a temporary name and
 * renamed, so the proxy never reads half a file.
 */
export function writeProxyConfig(env: InitEnv, ipv6: boolean): { file: string; bytes: number } | undefined {
  const file = env[PROXY_CONFIG_FILE_ENV];
  const text = env[PROXY_CONFIG_ENV];
  if (file === undefined && text === undefined) return undefined;
  if (!file || text === undefined)
    throw new CliError(`proxy configuration: ${PROXY_CONFIG_FILE_ENV} and ${PROXY_CONFIG_ENV} go together`);
  const missing = ['POD_NAME', 'POD_NAMESPACE'].filter((k) => !env[k]);
  if (missing.length > 0)
    throw new CliError(
      `proxy configuration: ${missing.join(' and ')} not set (the downward API provides them)`,
    );
  const content = resolveAtStart(text, {
    podName: env.POD_NAME!,
    podNamespace: env.POD_NAMESPACE!,
    podIP: env.INSTANCE_IP ?? '',
    ipv6,
  });
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, content, { mode: 0o644 });
    renameSync(tmp, file);
  } catch (err) {
    throw new CliError(`proxy configuration: cannot write ${file}: ${(err as Error).message}`);
  }
  return { file, bytes: Buffer.byteLength(content) };
}
