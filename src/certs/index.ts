/** The certificate core (pure). The Secret store (I/O) is apart: import it from './store.js'. */
export {
  isBundleDistributed,
  serviceHosts,
  verifyLeaf,
  type KeyAlgorithm,
  type ServingHosts,
} from './authority.js';
export {
  ActionReasons,
  DEFAULT_CERTIFICATE_SETTINGS,
  decideCertificateAction,
  type ActionKind,
  type ActionReason,
  type CertificateAction,
  type CertificateSettings,
} from './schedule.js';
export {
  DEFAULT_SECRET_NAME,
  parseServingMaterial,
  SecretAnnotations,
  SecretKeys,
  summarizeSecret,
  type CertificateSummary,
  type ServingMaterial,
} from './secret-format.js';
export type { CertificatePhase } from './state.js';
export {
  certificateEvent,
  CertificateEventReasons,
  type CertificateEvent,
  type CertificateEventReason,
} from './events.js';
export { EXPIRY_METRIC, registerCertificateExpiry, type ServedExpiry } from './metrics.js';
