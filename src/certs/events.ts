import type { CertificateAction } from './schedule.js';

/** Event reasons for the certificate steps, one per kind of write (stable, for alerts and tests). */
export const CertificateEventReasons = {
  Issue: 'Issued',
  RenewLeaf: 'LeafRenewed',
  StartCARotation: 'CARotationStarted',
  SwitchLeaf: 'LeafSwitched',
  PruneOldCA: 'OldCAPruned',
  RepairBundle: 'BundleRepaired',
} as const;
export type CertificateEventReason = (typeof CertificateEventReasons)[keyof typeof CertificateEventReasons];

/** Decision reasons that mean admissions may have failed or be about to: worth a Warning. */
const ALARMING = new Set<string>(['SecretUnreadable', 'CAExpired', 'CAExpiredBeforeDistribution']);

export interface CertificateEvent {
  type: 'Normal' | 'Warning';
  reason: CertificateEventReason;
  message: string;
}

/**
 * The Event for a certificate step this replica wrote; none for `None` and for a write another
 * writer won (that writer reports its own step).
 */
export function certificateEvent(
  action: CertificateAction,
  outcome: 'Created' | 'Updated' | 'Conflict' | 'Unchanged',
): CertificateEvent | undefined {
  if (action.kind === 'None' || outcome === 'Conflict' || outcome === 'Unchanged') return undefined;
  return {
    type: ALARMING.has(action.reason) ? 'Warning' : 'Normal',
    reason: CertificateEventReasons[action.kind],
    message: `${action.reason}: ${action.message}`,
  };
}
