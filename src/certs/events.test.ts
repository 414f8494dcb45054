import { describe, expect, it } from 'vitest';
import { certificateEvent, CertificateEventReasons } from './events.js';
import type { CertificateAction } from './schedule.js';

const step = (kind: Exclude<CertificateAction['kind'], 'None'>, reason = 'LeafExpiring'): CertificateAction =>
  ({ kind, reason, message: 'm' }) as CertificateAction;

describe('certificateEvent', () => {
  it('names each step with its own reason', () => {
    expect(certificateEvent(step('Issue', 'SecretMissing'), 'Created')?.reason).toBe('Issued');
    expect(certificateEvent(step('RenewLeaf'), 'Updated')?.reason).toBe('LeafRenewed');
    expect(certificateEvent(step('StartCARotation', 'CAExpiring'), 'Updated')?.reason).toBe(
      'CARotationStarted',
    );
    expect(certificateEvent(step('SwitchLeaf', 'BundleDistributed'), 'Updated')?.reason).toBe('LeafSwitched');
    expect(certificateEvent(step('PruneOldCA', 'OldLeavesExpired'), 'Updated')?.reason).toBe('OldCAPruned');
    expect(certificateEvent(step('RepairBundle', 'BundleEdited'), 'Updated')?.reason).toBe('BundleRepaired');
    expect(new Set(Object.values(CertificateEventReasons)).size).toBe(6);
  });

  it('carries the decision reason and message', () => {
    expect(certificateEvent(step('RenewLeaf'), 'Updated')).toEqual({
      type: 'Normal',
      reason: 'LeafRenewed',
      message: 'LeafExpiring: m',
    });
  });

  it('warns when the step follows a loss of valid certificates', () => {
    expect(certificateEvent(step('Issue', 'SecretUnreadable'), 'Updated')?.type).toBe('Warning');
    expect(certificateEvent(step('Issue', 'CAExpired'), 'Updated')?.type).toBe('Warning');
    expect(certificateEvent(step('SwitchLeaf', 'CAExpiredBeforeDistribution'), 'Updated')?.type).toBe(
      'Warning',
    );
    expect(certificateEvent(step('Issue', 'SecretMissing'), 'Created')?.type).toBe('Normal');
  });

  it('records nothing for no step or a write another replica won', () => {
    const none: CertificateAction = {
      kind: 'None',
      reason: 'UpToDate',
      message: '',
      nextCheckAt: new Date(0),
    };
    expect(certificateEvent(none, 'Unchanged')).toBeUndefined();
    expect(certificateEvent(step('RenewLeaf'), 'Conflict')).toBeUndefined();
  });
});
