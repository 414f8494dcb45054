import { CoreV1Api, type KubeConfig, type V1Secret } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import {
  certificateEvent,
  DEFAULT_CERTIFICATE_SETTINGS,
  isBundleDistributed,
  type CertificateSettings,
  type ServingHosts,
} from '../../certs/index.js';
import { reconcileCertificates, type ReconcileCertificatesResult } from '../../certs/store.js';
import { Informer, type EventRecorder } from '../../kube/index.js';

export interface CertificateLoopOptions {
  kc: KubeConfig;
  log: Logger;
  namespace: string;
  secretName: string;
  hosts: ServingHosts;
  settings?: Partial<CertificateSettings>;
  /** The caBundles (PEM) of every owned webhook configuration, as cached; undefined before sync. */
  caBundles: () => string[] | undefined;
  /** Events for each step written, on the Secret. */
  events?: EventRecorder;
  /** Called after every step with what it did (tests, diagnostics). */
  onStep?: (result: ReconcileCertificatesResult) => void;
  /** The clock every step is decided by (default: the wall clock). */
  now?: () => Date;
}

/**
 * The leader's certificate loop: one step of issue/renew/rotate at a time, then sleep until the
 * certificates say the next step is due, or until poked: the Secret changed or vanished (its own
 * watch), or a webhook configuration changed (which may complete a bundle distribution).
 * Failures retry with a doubling delay up to a minute.
 */
export class CertificateLoop {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private due = Infinity;
  private running = false;
  private busy: Promise<void> | undefined;
  private failures = 0;
  private readonly settings: CertificateSettings;
  private readonly core: CoreV1Api;
  private secretWatch: Informer<V1Secret> | undefined;
  private readonly now: () => Date;

  constructor(private readonly o: CertificateLoopOptions) {
    this.now = o.now ?? (() => new Date());
    this.settings = { ...DEFAULT_CERTIFICATE_SETTINGS, ...o.settings };
    this.core = o.kc.makeApiClient(CoreV1Api);
  }

  start(): void {
    this.running = true;
    this.secretWatch = new Informer<V1Secret>(this.o.kc, {
      path: `/api/v1/namespaces/${this.o.namespace}/secrets`,
      fieldSelector: `metadata.name=${this.o.secretName}`,
      log: this.o.log,
    });
    // Our own writes come back here too; the step after them finds nothing to do.
    this.secretWatch.onEvent(() => this.poke(50));
    this.secretWatch.start();
    this.poke();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.due = Infinity;
    await Promise.all([this.busy, this.secretWatch?.stop()]);
    this.secretWatch = undefined;
  }

  /** Runs a step within `delayMs` (an earlier pending step stays earlier; pokes coalesce). */
  poke(delayMs = 0): void {
    if (!this.running) return;
    const at = this.now().getTime() + delayMs;
    if (this.timer && this.due <= at) return;
    if (this.timer) clearTimeout(this.timer);
    this.due = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.due = Infinity;
      if (this.busy) return this.poke(200);
      this.busy = this.step().finally(() => (this.busy = undefined));
    }, delayMs);
  }

  private async step(): Promise<void> {
    const now = this.now();
    try {
      const res = await reconcileCertificates({
        core: this.core,
        namespace: this.o.namespace,
        name: this.o.secretName,
        now,
        settings: this.settings,
        hosts: this.o.hosts,
        bundleDistributed: (bundle) => this.distributed(bundle),
        logger: this.o.log,
      });
      this.failures = 0;
      this.report(res);
      const wait = Math.max(
        0,
        Math.min(res.nextCheckAt.getTime() - this.now().getTime(), this.settings.maxCheckIntervalMs),
      );
      // After a write the Secret watch pokes again; this is the fallback.
      this.poke(res.outcome === 'Unchanged' ? wait : Math.max(wait, 500));
    } catch (err) {
      this.failures++;
      const delay = Math.min(60_000, 500 * 2 ** Math.min(this.failures - 1, 10));
      this.o.log.warn({ err, delayMs: delay }, 'certificate step failed');
      this.poke(delay);
    }
  }

  /** Whether every owned webhook configuration (none is fine) carries every CA of `bundlePem`. */
  private distributed(bundlePem: string): boolean {
    const bundles = this.o.caBundles();
    return bundles !== undefined && isBundleDistributed(bundlePem, bundles);
  }

  private report(res: ReconcileCertificatesResult): void {
    this.o.onStep?.(res);
    const ev = certificateEvent(res.action, res.outcome);
    const meta = res.secret?.metadata;
    if (!ev || !this.o.events || !meta?.uid) return;
    this.o.events.recordOn(
      {
        apiVersion: 'v1',
        kind: 'Secret',
        name: this.o.secretName,
        namespace: this.o.namespace,
        uid: meta.uid,
      },
      ev.type,
      ev.reason,
      ev.message,
    );
  }
}
