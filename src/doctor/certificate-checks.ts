import { fail, pass, warn, type CheckResult } from './check.js';
import type { DoctorInputs } from './inputs.js';

/** Below this much validity left, expiry is a warning: rotation should have happened long before. */
export const EXPIRY_WARNING_MS = 7 * 24 * 3600 * 1000;

function left(ms: number): string {
  const h = ms / 3_600_000;
  return h >= 48 ? `${Math.floor(h / 24)} days` : `${Math.max(0, Math.floor(h))} hours`;
}

/**
 * Expiry of the certificate the webhook serves (from the TLS probes), else of the one in the
 * operator's Secret; the CA's expiry too when the Secret was readable.
 */
export function checkCertificateExpiry(inputs: DoctorInputs): CheckResult {
  const name = 'certificate-expiry';
  const dates: { what: string; notAfter: Date }[] = [];
  for (const [policy, probe] of inputs.probes) {
    const d = probe.tls?.peerNotAfter;
    if (d) dates.push({ what: `certificate served for ${policy}`, notAfter: d });
  }
  const summary = inputs.certificate?.summary;
  if (summary) {
    if (dates.length === 0)
      dates.push({
        what: `serving certificate in Secret ${inputs.certificate?.secret}`,
        notAfter: summary.leafNotAfter,
      });
    dates.push({ what: 'CA certificate', notAfter: summary.caNotAfter });
  }
  if (dates.length === 0) {
    const why = inputs.certificate?.problem ?? 'no webhook was reached and no certificate Secret was read';
    return warn(
      'SO132',
      name,
      `not checked: ${why}`,
      'pass --operator-namespace, or --webhook-url to reach the webhook',
    );
  }
  const soonest = dates.reduce((a, b) => (b.notAfter < a.notAfter ? b : a));
  const ms = soonest.notAfter.getTime() - inputs.now.getTime();
  const at = soonest.notAfter.toISOString();
  if (ms <= 0)
    return fail(
      'SO130',
      name,
      `${soonest.what} expired at ${at}: the API server refuses the webhook`,
      'the operator renews it at 2/3 of its lifetime: check that it runs and leads, and its CertificateReady condition',
    );
  if (ms < EXPIRY_WARNING_MS)
    return warn(
      'SO131',
      name,
      `${soonest.what} expires in ${left(ms)} (${at})`,
      'check that the operator renews it (CertificateReady condition, operator logs)',
    );
  return pass(name, `${soonest.what} is valid for ${left(ms)} more (until ${at})`);
}
