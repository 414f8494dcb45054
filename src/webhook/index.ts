/**
 * The admission webhook (every replica): `POST /inject/<policy>` answers pod CREATE reviews with a
 * JSON Patch, from the templates in the injector ConfigMaps (one per policy) and the key pair in the TLS Secret, both
 * watched and swapped while serving.
 *
 * Wiring, as the run command does it:
 *
 * ```ts
 * const server = new WebhookServer({ log: log.child({ component: 'webhook' }), registry, operatorNamespace: ns, port });
 * const templates = watchInjectorTemplates(kc, ns, log, (t) => server.setTemplates(t));
 * const cert = watchServingSecret(kc, ns, secretName, log, (m) => server.setCertificate(m));
 * await server.start();                 // /readyz turns 200 once both were loaded
 * // on SIGTERM:
 * await server.stop(); await templates.stop(); await cert.stop();
 * ```
 *
 * Layers: `codec` (AdmissionReview JSON ⇄ types; `pod-shape` checks the pod before anything reads
 * it), `handler` (request → response, no HTTP, never
 * throws), `server` (TLS, body cap, timeouts, connection and concurrency bounds, health, metrics,
 * shutdown), `sources` (watches),
 * `admission-events` (decision → Event on the pod's owner, recorded after the answer is sent).
 */
export {
  admissionEvent,
  AdmissionEventReasons,
  eventTarget,
  type AdmissionEventRecorder,
} from './admission-events.js';
export {
  decodeAdmissionReview,
  encodeAdmissionReview,
  type AdmissionRequest,
  type AdmissionResponse,
  type DecodeResult,
} from './codec.js';
export {
  AuditKeys,
  handleAdmission,
  HandlerReasons,
  type AdmissionOutcome,
  type AdmissionResult,
  type HandlerContext,
} from './handler.js';
export {
  ADMISSION_EVENT_RATE_LIMIT,
  createAdmissionEventRecorder,
  WEBHOOK_EVENT_COMPONENT,
  type AdmissionEventRecorderOptions,
} from './event-recorder.js';
export { DURATION_BUCKETS } from './metrics.js';
export {
  kubernetesMetricsAuthorizer,
  METRICS_PATH,
  type KubernetesMetricsAuthOptions,
  type MetricsAuthorizer,
  type MetricsVerdict,
} from './metrics-auth.js';
export {
  MAX_ANNOTATIONS_SIZE,
  MAX_KEY_LENGTH,
  MAX_LABEL_VALUE_LENGTH,
  MAX_LIST_ITEMS,
  MAX_MAP_ENTRIES,
  MAX_NAME_LENGTH,
  readPod,
} from './pod-shape.js';
export {
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_CONCURRENT_REVIEWS,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_SILENT_CONNECTION_TIMEOUT_MS,
  INJECT_PATH_PREFIX,
  WebhookServer,
  type WebhookServerOptions,
} from './server.js';
export { watchInjectorTemplates, watchServingSecret, type SourceWatch } from './sources.js';
export { CIPHERS, type MinTLSVersion, type ServingCertificate } from './tls.js';
