import { inspectCertificate, splitPemBundle } from './authority.js';
import {
  canonicalBundle,
  phaseOf,
  type CertificateState,
  type StoredCertificate,
  type StoredKeyPair,
} from './state.js';

/** Keys of the certificate Secret's data. `tls.crt`/`tls.key` make it a valid `kubernetes.io/tls`. */
/** The Secret holding the serving certificate, unless configured otherwise. */
export const DEFAULT_SECRET_NAME = 'sidecar-operator-certs';

export const SecretKeys = {
  caCert: 'ca.crt',
  caKey: 'ca.key',
  nextCACert: 'ca-next.crt',
  nextCAKey: 'ca-next.key',
  previousCACert: 'ca-previous.crt',
  bundle: 'ca-bundle.crt',
  leafCert: 'tls.crt',
  leafKey: 'tls.key',
} as const;

/** Annotations on the Secret: the rotation bookkeeping that is not inside any certificate. */
export const SecretAnnotations = {
  phase: 'sidecar.dev/certificate-phase',
  rotationStartedAt: 'sidecar.dev/rotation-started-at',
  signedLeavesExpireAt: 'sidecar.dev/signed-leaves-expire-at',
  pruneAfter: 'sidecar.dev/prune-after',
  leafNotAfter: 'sidecar.dev/leaf-not-after',
} as const;

/** The parts of a Secret this module reads; structurally a `V1Secret`. */
export interface SecretLike {
  metadata?: { annotations?: Record<string, string> | undefined } | undefined;
  data?: Record<string, string> | undefined;
}

export type DecodedSecret =
  | { kind: 'Missing' }
  | { kind: 'Unreadable'; problem: string }
  | { kind: 'Ready'; state: CertificateState; warnings: string[] };

function text(data: Record<string, string>, key: string): string | undefined {
  const v = data[key];
  return v === undefined || v === '' ? undefined : Buffer.from(v, 'base64').toString('utf8');
}

function isPrivateKeyPem(pem: string | undefined): pem is string {
  return (
    pem !== undefined &&
    /-----BEGIN (EC |RSA )?PRIVATE KEY-----[\s\S]+-----END (EC |RSA )?PRIVATE KEY-----/.test(pem)
  );
}

function readCert(data: Record<string, string>, key: string): StoredCertificate {
  const certPem = text(data, key);
  if (certPem === undefined) throw new Error(`${key} is missing`);
  try {
    return { certPem, info: inspectCertificate(certPem) };
  } catch (err) {
    throw new Error(`${key} is not a certificate: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
}

function readPair(data: Record<string, string>, certKey: string, keyKey: string): StoredKeyPair {
  const cert = readCert(data, certKey);
  const keyPem = text(data, keyKey);
  // The key's content is never echoed, only whether it has the shape of one.
  if (!isPrivateKeyPem(keyPem)) throw new Error(`${keyKey} is missing or not a PEM private key`);
  return { ...cert, keyPem };
}

function readDate(annotations: Record<string, string>, key: string): Date | undefined {
  const v = annotations[key];
  if (v === undefined) return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/**
 * Secret → typed state. `Unreadable` only when the signing CA or the serving pair cannot be used;
 * a damaged rotation companion (next or previous CA) is dropped with a warning instead, because
 * re-issuing everything would break admissions until the new bundle is distributed.
 */
export function decodeSecret(secret: SecretLike | undefined): DecodedSecret {
  if (secret === undefined) return { kind: 'Missing' };
  const data = secret.data ?? {};
  const annotations = secret.metadata?.annotations ?? {};
  const warnings: string[] = [];
  let ca: StoredKeyPair;
  let leaf: StoredKeyPair;
  try {
    ca = readPair(data, SecretKeys.caCert, SecretKeys.caKey);
    if (!ca.info.isCA) throw new Error(`${SecretKeys.caCert} is not a CA certificate`);
    leaf = readPair(data, SecretKeys.leafCert, SecretKeys.leafKey);
  } catch (err) {
    return { kind: 'Unreadable', problem: err instanceof Error ? err.message : String(err) };
  }
  let nextCA: StoredKeyPair | undefined;
  if (data[SecretKeys.nextCACert] !== undefined || data[SecretKeys.nextCAKey] !== undefined) {
    try {
      nextCA = readPair(data, SecretKeys.nextCACert, SecretKeys.nextCAKey);
    } catch (err) {
      warnings.push(`dropped the next CA: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  let previousCA: StoredCertificate | undefined;
  if (data[SecretKeys.previousCACert] !== undefined) {
    try {
      previousCA = readCert(data, SecretKeys.previousCACert);
    } catch (err) {
      warnings.push(`dropped the previous CA: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  const state: CertificateState = {
    ca,
    nextCA,
    previousCA,
    rotationStartedAt: nextCA ? readDate(annotations, SecretAnnotations.rotationStartedAt) : undefined,
    signedLeavesExpireAt: readDate(annotations, SecretAnnotations.signedLeavesExpireAt),
    pruneAfter: previousCA ? readDate(annotations, SecretAnnotations.pruneAfter) : undefined,
    leaf,
    storedBundlePem: text(data, SecretKeys.bundle) ?? '',
  };
  return { kind: 'Ready', state, warnings };
}

function b64(s: string): string {
  return Buffer.from(s, 'utf8').toString('base64');
}

/** Typed state → the Secret's `data` (base64) and the annotations this module owns. */
export function encodeSecret(state: CertificateState): {
  data: Record<string, string>;
  annotations: Record<string, string>;
} {
  const data: Record<string, string> = {
    [SecretKeys.caCert]: b64(state.ca.certPem),
    [SecretKeys.caKey]: b64(state.ca.keyPem),
    [SecretKeys.bundle]: b64(canonicalBundle(state)),
    [SecretKeys.leafCert]: b64(state.leaf.certPem),
    [SecretKeys.leafKey]: b64(state.leaf.keyPem),
  };
  if (state.nextCA) {
    data[SecretKeys.nextCACert] = b64(state.nextCA.certPem);
    data[SecretKeys.nextCAKey] = b64(state.nextCA.keyPem);
  }
  if (state.previousCA) data[SecretKeys.previousCACert] = b64(state.previousCA.certPem);
  const annotations: Record<string, string> = {
    [SecretAnnotations.phase]: phaseOf(state),
    [SecretAnnotations.leafNotAfter]: state.leaf.info.notAfter.toISOString(),
  };
  if (state.nextCA && state.rotationStartedAt) {
    annotations[SecretAnnotations.rotationStartedAt] = state.rotationStartedAt.toISOString();
  }
  if (state.signedLeavesExpireAt) {
    annotations[SecretAnnotations.signedLeavesExpireAt] = state.signedLeavesExpireAt.toISOString();
  }
  if (state.previousCA && state.pruneAfter) {
    annotations[SecretAnnotations.pruneAfter] = state.pruneAfter.toISOString();
  }
  return { data, annotations };
}

/** What a webhook server needs to serve TLS, read from the Secret. */
export interface ServingMaterial {
  certPem: string;
  keyPem: string;
  /** The CAs the API server should trust (falls back to `ca.crt`, as cert-manager writes it). */
  bundlePem: string;
  notAfter: Date;
  /** Expiry of the CA in `ca.crt` (the signing CA, in both layouts); undefined without one. */
  caNotAfter: Date | undefined;
}

/** Reads the serving key pair and bundle from a certificate Secret; throws naming what is missing. */
export function parseServingMaterial(secret: SecretLike): ServingMaterial {
  const data = secret.data ?? {};
  const certPem = text(data, SecretKeys.leafCert);
  const keyPem = text(data, SecretKeys.leafKey);
  if (certPem === undefined) throw new Error(`secret has no ${SecretKeys.leafCert}`);
  if (!isPrivateKeyPem(keyPem)) throw new Error(`secret has no usable ${SecretKeys.leafKey}`);
  const bundlePem = text(data, SecretKeys.bundle) ?? text(data, SecretKeys.caCert) ?? '';
  if (splitPemBundle(bundlePem).length === 0) {
    throw new Error(`secret has neither ${SecretKeys.bundle} nor ${SecretKeys.caCert}`);
  }
  const caPem = text(data, SecretKeys.caCert);
  let caNotAfter: Date | undefined;
  try {
    caNotAfter = caPem === undefined ? undefined : inspectCertificate(caPem).notAfter;
  } catch {
    caNotAfter = undefined;
  }
  return { certPem, keyPem, bundlePem, notAfter: inspectCertificate(certPem).notAfter, caNotAfter };
}

/** Expiry facts for conditions and metrics (no key material). */
export interface CertificateSummary {
  phase: ReturnType<typeof phaseOf>;
  caNotAfter: Date;
  /** The CA that will sign next, during a rotation. */
  nextCANotAfter: Date | undefined;
  leafNotAfter: Date;
  /** Subjects of the CAs in the bundle, oldest first. */
  bundle: string[];
}

/** Summarizes a certificate Secret; undefined when it is missing or unusable. */
export function summarizeSecret(secret: SecretLike | undefined): CertificateSummary | undefined {
  const decoded = decodeSecret(secret);
  if (decoded.kind !== 'Ready') return undefined;
  const { state } = decoded;
  return {
    phase: phaseOf(state),
    caNotAfter: state.ca.info.notAfter,
    nextCANotAfter: state.nextCA?.info.notAfter,
    leafNotAfter: state.leaf.info.notAfter,
    bundle: splitPemBundle(canonicalBundle(state)).map((p) => inspectCertificate(p).subject),
  };
}
