import { Command, InvalidArgumentError, Option } from 'commander';
import { startOperator, type OperatorConfig } from '../../operator/index.js';
import { DEFAULT_INIT_IMAGE } from '../init-image.js';
import { createLogger, type LogFormat } from '../logger.js';

interface RunFlags {
  kubeconfig?: string;
  context?: string;
  namespace: string;
  serviceName?: string;
  webhookUrl?: string;
  webhookHost?: string;
  webhookPort: number;
  metricsPort?: number;
  leaderElect: boolean;
  leaseName: string;
  leaseDuration: number;
  renewDeadline: number;
  retryPeriod: number;
  resyncPeriod: number;
  workers: number;
  policySelector?: string;
  certSource: 'self' | 'operator' | 'cert-manager';
  certSecret?: string;
  certManagerCertificate?: string;
  caLifetime?: number;
  certLifetime?: number;
  identity?: string;
  admissionEvents: boolean;
  admissionEventsUnauthenticated: boolean;
  webhookClientCa?: string;
  webhookClientNames?: string[];
  initImage: string;
  logLevel: string;
  logFormat: LogFormat;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * "30s", "10m", "90d", Go's "8760h" or "1h30m" (what Helm values and cert-manager use), or plain
 * milliseconds → milliseconds.
 */
export function parseDuration(value: string): number {
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v);
  const parts = [...v.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== v) {
    throw new InvalidArgumentError(`not a duration: ${value} (e.g. 30s, 10m, 2160h, 90d)`);
  }
  return Math.round(parts.reduce((sum, p) => sum + Number(p[1]) * (UNIT_MS[p[2]!] ?? 1), 0));
}

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`not a port: ${value}`);
  return n;
}

function parseBool(value: string): boolean {
  if (/^(true|1|yes)$/i.test(value)) return true;
  if (/^(false|0|no)$/i.test(value)) return false;
  throw new InvalidArgumentError(`not a boolean: ${value}`);
}

const opt = (flags: string, description: string, env?: string): Option => {
  const o = new Option(flags, description);
  return env ? o.env(env) : o;
};

export function configFromFlags(f: RunFlags, log: OperatorConfig['log']): OperatorConfig {
  if (!f.serviceName && !f.webhookUrl) {
    throw new InvalidArgumentError('one of --service-name or --webhook-url is required');
  }
  return {
    log,
    kubeconfig: {
      ...(f.kubeconfig ? { kubeconfig: f.kubeconfig } : {}),
      ...(f.context ? { context: f.context } : {}),
    },
    namespace: f.namespace,
    ...(f.serviceName ? { serviceName: f.serviceName } : {}),
    ...(f.webhookUrl ? { webhookUrl: f.webhookUrl } : {}),
    ...(f.webhookHost ? { webhookHost: f.webhookHost } : {}),
    webhookPort: f.webhookPort,
    ...(f.metricsPort !== undefined ? { metricsPort: f.metricsPort } : {}),
    leaderElect: f.leaderElect,
    leaseName: f.leaseName,
    leaseDurationMs: f.leaseDuration,
    renewDeadlineMs: f.renewDeadline,
    retryPeriodMs: f.retryPeriod,
    resyncPeriodMs: f.resyncPeriod,
    workers: f.workers,
    ...(f.policySelector ? { policySelector: f.policySelector } : {}),
    certSource: f.certSource,
    ...(f.certSecret ? { secretName: f.certSecret } : {}),
    ...(f.certManagerCertificate ? { certManagerCertificate: f.certManagerCertificate } : {}),
    certificates: {
      ...(f.caLifetime !== undefined ? { caLifetimeMs: f.caLifetime } : {}),
      ...(f.certLifetime !== undefined ? { leafLifetimeMs: f.certLifetime } : {}),
    },
    ...(f.identity ? { identity: f.identity } : {}),
    admissionEvents: f.admissionEvents,
    ...(f.admissionEventsUnauthenticated ? { admissionEventsUnauthenticated: true } : {}),
    ...(f.webhookClientCa ? { webhookClientCAFile: f.webhookClientCa } : {}),
    ...(f.webhookClientNames?.length ? { webhookClientNames: f.webhookClientNames } : {}),
    initImage: f.initImage,
  };
}

export function register(program: Command): void {
  program
    .command('run')
    .description('run the operator: the webhook on every replica, the controller on the elected leader')
    .addOption(
      opt(
        '--kubeconfig <path>',
        'kubeconfig file (default: in-cluster, then $KUBECONFIG, ~/.kube/config)',
        'KUBECONFIG',
      ),
    )
    .addOption(opt('--context <name>', 'kubeconfig context'))
    .addOption(opt('--namespace <ns>', "the operator's namespace", 'POD_NAMESPACE').default('sidecar-system'))
    .addOption(
      opt('--service-name <name>', 'Service the API server reaches the webhook through', 'SERVICE_NAME'),
    )
    .addOption(
      opt('--webhook-url <url>', 'base URL of the webhook when running outside the cluster', 'WEBHOOK_URL'),
    )
    .addOption(opt('--webhook-host <addr>', 'address the webhook listens on (default all)'))
    .addOption(
      opt('--webhook-port <port>', 'HTTPS port of the webhook, /metrics and probes')
        .argParser(parsePort)
        .default(9443),
    )
    .addOption(
      opt('--metrics-port <port>', 'also serve /metrics and probes over plain HTTP on this port').argParser(
        parsePort,
      ),
    )
    .addOption(
      opt('--leader-elect <bool>', 'elect one reconciling replica through a Lease')
        .argParser(parseBool)
        .default(true),
    )
    .addOption(opt('--lease-name <name>', 'name of the Lease').default('sidecar-operator-leader'))
    .addOption(opt('--lease-duration <d>', 'lease duration').argParser(parseDuration).default(15_000, '15s'))
    .addOption(
      opt('--renew-deadline <d>', 'leader gives up after failing to renew this long')
        .argParser(parseDuration)
        .default(10_000, '10s'),
    )
    .addOption(
      opt('--retry-period <d>', 'interval between lease attempts')
        .argParser(parseDuration)
        .default(2_000, '2s'),
    )
    .addOption(
      opt('--resync-period <d>', 'reconcile every policy at this interval')
        .argParser(parseDuration)
        .default(300_000, '5m'),
    )
    .addOption(
      opt('--workers <n>', 'concurrent reconciles')
        .argParser((v) => parsePort(v) || 1)
        .default(4),
    )
    .addOption(opt('--policy-selector <labels>', 'reconcile only the policies matching this label selector'))
    .addOption(
      new Option(
        '--cert-source <source>',
        'who issues the serving certificate: self (the operator is its own CA and rotates it; "operator" is an alias) or cert-manager',
      )
        .choices(['self', 'operator', 'cert-manager'])
        .default('self'),
    )
    .addOption(
      opt(
        '--cert-manager-certificate <name>',
        'with --cert-source=cert-manager: the Certificate (in --namespace) cainjector copies the CA from (default: the Secret name)',
      ),
    )
    .addOption(
      opt('--cert-secret <name>', 'Secret holding the serving certificate (default sidecar-operator-certs)'),
    )
    .addOption(
      opt('--ca-lifetime <d>', 'lifetime of the CA the operator creates (e.g. 8760h, 365d, 40s)')
        .argParser(parseDuration)
        .default(365 * 86_400_000, '365d'),
    )
    .addOption(
      opt('--cert-lifetime <d>', 'lifetime of the serving certificate (e.g. 2160h, 90d, 12s)')
        .argParser(parseDuration)
        .default(90 * 86_400_000, '90d'),
    )
    .addOption(
      opt('--identity <id>', 'leader election identity (default: pod name + random suffix)', 'POD_NAME'),
    )
    .addOption(
      opt(
        '--admission-events <bool>',
        "record Events on pods' owners for each injection decision an authenticated caller asked for",
      )
        .argParser(parseBool)
        .default(true),
    )
    .addOption(
      opt(
        '--admission-events-unauthenticated <bool>',
        'record them for unauthenticated callers too (without --webhook-client-ca, every caller is)',
      )
        .argParser(parseBool)
        .default(false),
    )
    .addOption(
      opt(
        '--webhook-client-ca <file>',
        "PEM CA that signs the API server's webhook client certificate; others get 401",
        'WEBHOOK_CLIENT_CA_FILE',
      ),
    )
    .addOption(
      opt('--webhook-client-names <cn,...>', 'common names a webhook client certificate may carry').argParser(
        (v: string) =>
          v
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean),
      ),
    )
    .addOption(
      opt(
        '--init-image <image>',
        "image of the injected sidecar-init when a policy sets no init.image (the operator's own)",
        'SIDECAR_INIT_IMAGE',
      ).default(DEFAULT_INIT_IMAGE),
    )
    .addOption(opt('--log-level <level>', 'trace, debug, info, warn, error', 'LOG_LEVEL').default('info'))
    .addOption(
      new Option('--log-format <format>', 'log format')
        .choices(['json', 'text'])
        .env('LOG_FORMAT')
        .default('json'),
    )
    .action(async (flags: RunFlags) => {
      const log = createLogger({ level: flags.logLevel, format: flags.logFormat });
      const handle = await startOperator(configFromFlags(flags, log));
      await new Promise<void>((resolve) => {
        const stop = (signal: string): void => {
          log.info({ signal }, 'shutting down');
          resolve();
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
      });
      await handle.stop();
    });
}
