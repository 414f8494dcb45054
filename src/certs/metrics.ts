import { Gauge, type Registry } from 'prom-client';

export const EXPIRY_METRIC = 'sidecar_certificate_expiry_seconds';

/** Expiries of what this replica serves: its serving certificate and the CA that signed it. */
export interface ServedExpiry {
  leafNotAfter: Date;
  caNotAfter: Date | undefined;
}

/**
 * `sidecar_certificate_expiry_seconds{kind="ca"|"leaf"}`: seconds until expiry (negative once
 * expired), computed at scrape time from what the replica serves, so every replica reports its own
 * view and a replica stuck on an old certificate shows up. No series before a certificate is loaded.
 */
export function registerCertificateExpiry(
  registry: Registry,
  served: () => ServedExpiry | undefined,
  clock: () => Date,
): Gauge<'kind'> {
  const existing = registry.getSingleMetric(EXPIRY_METRIC) as Gauge<'kind'> | undefined;
  if (existing) return existing;
  return new Gauge({
    name: EXPIRY_METRIC,
    help: 'Seconds until the webhook serving certificate (kind="leaf") or its signing CA (kind="ca") expires',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      this.reset();
      const s = served();
      if (!s) return;
      const now = clock().getTime();
      this.labels('leaf').set((s.leafNotAfter.getTime() - now) / 1000);
      if (s.caNotAfter) this.labels('ca').set((s.caNotAfter.getTime() - now) / 1000);
    },
  });
}
