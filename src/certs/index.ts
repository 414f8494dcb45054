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
  parseServingMaterial,
  SecretAnnotations,
  SecretKeys,
  summarizeSecret,
  type CertificateSummary,
  type ServingMaterial,
} from './secret-format.js';
export type { CertificatePhase } from './state.js';
export {
  DEFAULT_SECRET_NAME,
  readCertificateSecret,
  reconcileCertificates,
  type CertificateSecretRef,
  type ReconcileCertificatesInput,
  type ReconcileCertificatesResult,
} from './store.js';
export {
  certificateEvent,
  CertificateEventReasons,
  type CertificateEvent,
  type CertificateEventReason,
} from './events.js';
export { EXPIRY_METRIC, registerCertificateExpiry, type ServedExpiry } from './metrics.js';
