import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import {
  DEFAULT_CERTIFICATE_SETTINGS,
  isBundleDistributed,
  reconcileCertificates,
  type CertificateSettings,
  type ServingHosts,
} from '../certs/index.js';

export interface CertificateLoopOptions {
  kc: KubeConfig;
  log: Logger;
  namespace: string;
  secretName: string;
  hosts: ServingHosts;
  settings?: Partial<CertificateSettings>;
  /** The caBundles (PEM) of every owned webhook configuration, as cached. */
  caBundles: () => string[];
  /** The bundle the Secret holds now (what must be distributed before a leaf may switch CA). */
  currentBundle: () => string | undefined;
}

/**
 * The leader's certificate loop: one step of issue/renew/rotate at a time, then sleep until the
 * certificates say the next step is due (or a poke: a webhook configuration changed, which may
 * complete a bundle distribution). Failures retry with a doubling delay up to a minute.
 */
export class CertificateLoop {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running = false;
  private busy: Promise<void> | undefined;
  private failures = 0;
  private readonly settings: CertificateSettings;
  private readonly core: CoreV1Api;

  constructor(private readonly o: CertificateLoopOptions) {
    this.settings = { ...DEFAULT_CERTIFICATE_SETTINGS, ...o.settings };
    this.core = o.kc.makeApiClient(CoreV1Api);
  }

  start(): void {
    this.running = true;
    this.poke();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    await this.busy;
  }

  /** Runs a step soon (coalesced). */
  poke(delayMs = 0): void {
    if (!this.running) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.busy) return this.poke(200);
      this.busy = this.step().finally(() => (this.busy = undefined));
    }, delayMs);
  }

  private async step(): Promise<void> {
    const now = new Date();
    const bundle = this.o.currentBundle();
    try {
      const res = await reconcileCertificates({
        core: this.core,
        namespace: this.o.namespace,
        name: this.o.secretName,
        now,
        settings: this.settings,
        hosts: this.o.hosts,
        bundleDistributed: bundle !== undefined && isBundleDistributed(bundle, this.o.caBundles()),
        logger: this.o.log,
      });
      this.failures = 0;
      const wait = Math.max(
        0,
        Math.min(res.nextCheckAt.getTime() - Date.now(), this.settings.maxCheckIntervalMs),
      );
      // A write is followed by a re-check once the Secret watch had time to deliver it.
      this.poke(res.outcome === 'Unchanged' ? wait : Math.max(wait, 500));
    } catch (err) {
      this.failures++;
      const delay = Math.min(60_000, 500 * 2 ** Math.min(this.failures - 1, 10));
      this.o.log.warn({ err, delayMs: delay }, 'certificate step failed');
      this.poke(delay);
    }
  }
}
