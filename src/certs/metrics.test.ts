import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { EXPIRY_METRIC, registerCertificateExpiry, type ServedExpiry } from './metrics.js';

describe('certificate expiry gauge', () => {
  it('reports seconds to expiry for the leaf and the CA at scrape time', async () => {
    const registry = new Registry();
    let now = new Date('2030-01-01T00:00:00Z');
    let served: ServedExpiry | undefined = undefined;
    registerCertificateExpiry(
      registry,
      () => served,
      () => now,
    );
    expect(await registry.getMetricsAsJSON()).toEqual([expect.objectContaining({ values: [] })]);

    served = { leafNotAfter: new Date('2030-01-01T01:00:00Z'), caNotAfter: new Date('2030-01-02T00:00:00Z') };
    const text = await registry.metrics();
    expect(text).toContain(`${EXPIRY_METRIC}{kind="leaf"} 3600`);
    expect(text).toContain(`${EXPIRY_METRIC}{kind="ca"} 86400`);

    now = new Date('2030-01-01T01:00:30Z');
    expect(await registry.metrics()).toContain(`${EXPIRY_METRIC}{kind="leaf"} -30`);
  });

  it('is registered once per registry', () => {
    const registry = new Registry();
    const a = registerCertificateExpiry(
      registry,
      () => undefined,
      () => new Date(),
    );
    const b = registerCertificateExpiry(
      registry,
      () => undefined,
      () => new Date(),
    );
    expect(a).toBe(b);
  });
});
