import { joinPemBundle, type CertificateInfo } from './authority.js';

/** A certificate as stored (PEM) with the facts read from it. */
export interface StoredCertificate {
  certPem: string;
  info: CertificateInfo;
}

/** A certificate together with its private key. */
export interface StoredKeyPair extends StoredCertificate {
  keyPem: string;
}

/**
 * Everything the operator knows about its certificates, all of it read back from the Secret, so a
 * restarted (or newly elected) leader continues exactly where the previous one stopped.
 *
 * Invariant: the leaf is always signed by `ca`. During a CA rotation `nextCA` is trusted but does
 * not sign yet; after the leaf switched, the old CA stays trusted as `previousCA` until `pruneAfter`.
 */
export interface CertificateState {
  /** The CA that signs the serving certificate. */
  ca: StoredKeyPair;
  /** Rotation, step 1: the new CA, already in the bundle, not yet signing. */
  nextCA?: StoredKeyPair | undefined;
  /** Rotation, step 2: the retired CA, still in the bundle (certificate only; its key is destroyed). */
  previousCA?: StoredCertificate | undefined;
  /** When `nextCA` was created (the bundle with both CAs could be distributed from then on). */
  rotationStartedAt?: Date | undefined;
  /** The latest notAfter of any leaf `ca` has signed; becomes `pruneAfter` when `ca` retires. */
  signedLeavesExpireAt?: Date | undefined;
  /** When no leaf signed by `previousCA` can be valid any more, so it may leave the bundle. */
  pruneAfter?: Date | undefined;
  /** The serving certificate. */
  leaf: StoredKeyPair;
  /** The bundle exactly as stored (compared with `canonicalBundle` to repair hand edits). */
  storedBundlePem: string;
}

export type CertificatePhase = 'Stable' | 'Overlap' | 'Retiring';

/** Stable: one CA. Overlap: both CAs trusted, old one signs. Retiring: both trusted, new one signs. */
export function phaseOf(state: Pick<CertificateState, 'nextCA' | 'previousCA'>): CertificatePhase {
  if (state.nextCA) return 'Overlap';
  if (state.previousCA) return 'Retiring';
  return 'Stable';
}

/** The CAs the API server must trust, oldest first. */
export function trustedCAs(
  state: Pick<CertificateState, 'ca' | 'nextCA' | 'previousCA'>,
): StoredCertificate[] {
  return [state.previousCA, state.ca, state.nextCA].filter((c): c is StoredCertificate => c !== undefined);
}

/** The caBundle that belongs with this state. */
export function canonicalBundle(state: Pick<CertificateState, 'ca' | 'nextCA' | 'previousCA'>): string {
  return joinPemBundle(trustedCAs(state).map((c) => c.certPem));
}
