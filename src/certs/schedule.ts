import { isIssuedBy, sameHosts, type KeyAlgorithm, type ServingHosts } from './authority.js';
import type { DecodedSecret } from './secret-format.js';
import { canonicalBundle, phaseOf, type CertificateState, type StoredCertificate } from './state.js';

const DAY_MS = 86_400_000;

/** Lifetimes and timings. Seconds-long lifetimes are allowed (they make rotation testable). */
export interface CertificateSettings {
  caLifetimeMs: number;
  leafLifetimeMs: number;
  /**
   * How long after the new CA first entered the bundle the leaf may switch to it, on top of the
   * bundle being in every webhook configuration: covers the API servers' own informer lag.
   */
  propagationGraceMs: number;
  /** Upper bound on `nextCheckAt - now`, so no timer waits for months (and none overflows). */
  maxCheckIntervalMs: number;
  keyAlgorithm: KeyAlgorithm;
}

export const DEFAULT_CERTIFICATE_SETTINGS: CertificateSettings = {
  caLifetimeMs: 365 * DAY_MS,
  leafLifetimeMs: 90 * DAY_MS,
  propagationGraceMs: 5_000,
  maxCheckIntervalMs: 3_600_000,
  keyAlgorithm: 'ECDSA-P256',
};

/** Certificates are renewed or rotated once this fraction of their validity has passed. */
export const RENEW_FRACTION = 2 / 3;

export const ActionReasons = {
  SecretMissing: 'SecretMissing',
  SecretUnreadable: 'SecretUnreadable',
  CAExpired: 'CAExpired',
  OldLeavesExpired: 'OldLeavesExpired',
  BundleDistributed: 'BundleDistributed',
  CAExpiredBeforeDistribution: 'CAExpiredBeforeDistribution',
  LeafNotFromCA: 'LeafNotFromCA',
  HostsChanged: 'HostsChanged',
  LeafExpiring: 'LeafExpiring',
  CAExpiring: 'CAExpiring',
  BundleEdited: 'BundleEdited',
  WaitingForDistribution: 'WaitingForDistribution',
  UpToDate: 'UpToDate',
} as const;
export type ActionReason = (typeof ActionReasons)[keyof typeof ActionReasons];

export type ActionKind =
  'Issue' | 'None' | 'RenewLeaf' | 'StartCARotation' | 'SwitchLeaf' | 'PruneOldCA' | 'RepairBundle';

/** What to do next, why (a CamelCase reason for Events and conditions) and a readable message. */
export type CertificateAction =
  | { kind: 'None'; reason: ActionReason; message: string; nextCheckAt: Date }
  | { kind: Exclude<ActionKind, 'None'>; reason: ActionReason; message: string };

export interface ScheduleInput {
  now: Date;
  stored: DecodedSecret;
  settings: Pick<CertificateSettings, 'propagationGraceMs' | 'maxCheckIntervalMs'>;
  /** The names the serving certificate must carry now. */
  hosts: ServingHosts;
  /** True when every webhook configuration's caBundle holds every CA of the stored bundle. */
  bundleDistributed: boolean;
}

/** The moment `RENEW_FRACTION` of the certificate's validity has passed. */
export function renewalTime(cert: StoredCertificate): Date {
  const { notBefore, notAfter } = cert.info;
  return new Date(notBefore.getTime() + (notAfter.getTime() - notBefore.getTime()) * RENEW_FRACTION);
}

/** When a CA rotation began (the annotation, else the new CA's notBefore, which is at or before it). */
export function rotationStart(state: CertificateState): Date | undefined {
  return state.rotationStartedAt ?? state.nextCA?.info.notBefore;
}

/**
 * When the retired CA may leave the bundle: once no leaf it signed can still be valid. Recorded at
 * the switch; without the record, the retired CA's own expiry (leaves never outlive their CA).
 */
export function pruneTime(state: CertificateState): Date | undefined {
  if (!state.previousCA) return undefined;
  return state.pruneAfter ?? state.previousCA.info.notAfter;
}

function iso(d: Date): string {
  return d.toISOString();
}

type Check = (state: CertificateState, input: ScheduleInput) => CertificateAction | undefined;

const caExpired: Check = (s, { now }) => {
  if (now < s.ca.info.notAfter) return undefined;
  if (s.nextCA) {
    // The new CA is already in the bundle; switching now is the only way to serve anything valid.
    return {
      kind: 'SwitchLeaf',
      reason: ActionReasons.CAExpiredBeforeDistribution,
      message: `signing CA expired at ${iso(s.ca.info.notAfter)} before the new bundle was confirmed everywhere`,
    };
  }
  return {
    kind: 'Issue',
    reason: ActionReasons.CAExpired,
    message: `CA expired at ${iso(s.ca.info.notAfter)}`,
  };
};

const pruneDue: Check = (s, { now }) => {
  const at = pruneTime(s);
  if (at === undefined || now < at) return undefined;
  return {
    kind: 'PruneOldCA',
    reason: ActionReasons.OldLeavesExpired,
    message: `every serving certificate the old CA signed has expired (${iso(at)}); removing it from the bundle`,
  };
};

const switchDue: Check = (s, input) => {
  const started = rotationStart(s);
  // A leftover retired CA must be pruned first, or switching would forget it while leaves it signed live.
  if (!s.nextCA || s.previousCA || started === undefined || !input.bundleDistributed) return undefined;
  if (input.now.getTime() < started.getTime() + input.settings.propagationGraceMs) return undefined;
  return {
    kind: 'SwitchLeaf',
    reason: ActionReasons.BundleDistributed,
    message:
      'the bundle with both CAs is in every webhook configuration; issuing the serving certificate from the new CA',
  };
};

const leafFromWrongCA: Check = (s) => {
  if (isIssuedBy(s.leaf.info, s.ca.info)) return undefined;
  return {
    kind: 'RenewLeaf',
    reason: ActionReasons.LeafNotFromCA,
    message: `serving certificate is issued by "${s.leaf.info.issuer}", not by the signing CA "${s.ca.info.subject}"`,
  };
};

const hostsChanged: Check = (s, { hosts }) => {
  if (sameHosts(s.leaf.info, hosts)) return undefined;
  const want = [...hosts.dnsNames, ...hosts.ipAddresses].join(', ');
  return {
    kind: 'RenewLeaf',
    reason: ActionReasons.HostsChanged,
    message: `serving names changed to ${want}`,
  };
};

/** A renewal from the same CA that cannot end any later than the current leaf gains nothing. */
function renewalGainsNothing(s: CertificateState): boolean {
  return s.leaf.info.notAfter.getTime() >= s.ca.info.notAfter.getTime();
}

const leafExpiring: Check = (s, { now }) => {
  const at = renewalTime(s.leaf);
  if (now < at || renewalGainsNothing(s)) return undefined;
  return {
    kind: 'RenewLeaf',
    reason: ActionReasons.LeafExpiring,
    message: `serving certificate reached ${Math.round(RENEW_FRACTION * 100)}% of its life at ${iso(at)}; it expires at ${iso(s.leaf.info.notAfter)}`,
  };
};

const caExpiring: Check = (s, { now }) => {
  // One rotation at a time: the previous CA must be pruned first (it always is by then, because a
  // retired CA's leaves expire before the new CA reaches two thirds of its life).
  if (phaseOf(s) !== 'Stable') return undefined;
  const at = renewalTime(s.ca);
  if (now < at) return undefined;
  return {
    kind: 'StartCARotation',
    reason: ActionReasons.CAExpiring,
    message: `CA reached ${Math.round(RENEW_FRACTION * 100)}% of its life at ${iso(at)}; adding a new CA to the bundle`,
  };
};

const bundleEdited: Check = (s) => {
  if (s.storedBundlePem === canonicalBundle(s)) return undefined;
  return {
    kind: 'RepairBundle',
    reason: ActionReasons.BundleEdited,
    message: 'stored bundle differs from the CAs held',
  };
};

/** First match wins; the order puts serving something valid before housekeeping. */
const checks: Check[] = [
  caExpired,
  pruneDue,
  switchDue,
  leafFromWrongCA,
  hostsChanged,
  caExpiring,
  leafExpiring,
  bundleEdited,
];

/** Decides the single next step for the certificates (the caller performs it, then decides again). */
export function decideCertificateAction(input: ScheduleInput): CertificateAction {
  const { stored } = input;
  if (stored.kind === 'Missing') {
    return {
      kind: 'Issue',
      reason: ActionReasons.SecretMissing,
      message: 'no certificate Secret; issuing a CA and a serving certificate',
    };
  }
  if (stored.kind === 'Unreadable') {
    return {
      kind: 'Issue',
      reason: ActionReasons.SecretUnreadable,
      message: `certificate Secret unusable: ${stored.problem}`,
    };
  }
  for (const check of checks) {
    const action = check(stored.state, input);
    if (action) return action;
  }
  const waiting = phaseOf(stored.state) === 'Overlap';
  return {
    kind: 'None',
    reason: waiting ? ActionReasons.WaitingForDistribution : ActionReasons.UpToDate,
    message: waiting
      ? 'new CA is in the bundle; waiting until every webhook configuration holds it'
      : 'certificates are current',
    nextCheckAt: nextCheckAt(stored.state, input),
  };
}

/**
 * The earliest future moment at which a decision could change by the clock alone, capped by
 * `maxCheckIntervalMs`. (Distribution of the bundle is an event the caller reacts to, not a time.)
 */
export function nextCheckAt(state: CertificateState, input: Pick<ScheduleInput, 'now' | 'settings'>): Date {
  const { now, settings } = input;
  const candidates: Date[] = [state.ca.info.notAfter];
  if (!renewalGainsNothing(state)) candidates.push(renewalTime(state.leaf));
  const phase = phaseOf(state);
  if (phase === 'Stable') candidates.push(renewalTime(state.ca));
  const started = rotationStart(state);
  if (phase === 'Overlap' && started)
    candidates.push(new Date(started.getTime() + settings.propagationGraceMs));
  const prune = pruneTime(state);
  if (prune) candidates.push(prune);
  let next = now.getTime() + settings.maxCheckIntervalMs;
  for (const c of candidates) if (c.getTime() > now.getTime()) next = Math.min(next, c.getTime());
  return new Date(next);
}
