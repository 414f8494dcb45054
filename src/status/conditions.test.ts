import { describe, expect, it } from 'vitest';
import { conditionChanged, setCondition, setConditions } from './conditions.js';
import { policyConditions, type PolicyFacts } from './policy-conditions.js';
import { statusChanged, summarizeReady } from './summary.js';

const t0 = new Date('2026-01-01T00:00:00.123Z');
const t1 = new Date('2026-01-01T00:05:00Z');

describe('conditions', () => {
  it('moves lastTransitionTime only when the status flips', () => {
    const a = setCondition([], { type: 'X', status: 'True', reason: 'Ok', message: 'one' }, 1, t0);
    expect(a).toEqual([
      {
        type: 'X',
        status: 'True',
        reason: 'Ok',
        message: 'one',
        observedGeneration: 1,
        lastTransitionTime: '2026-01-01T00:00:00Z',
      },
    ]);
    const b = setCondition(a, { type: 'X', status: 'True', reason: 'Still', message: 'two' }, 2, t1);
    expect(b[0]).toMatchObject({
      reason: 'Still',
      observedGeneration: 2,
      lastTransitionTime: '2026-01-01T00:00:00Z',
    });
    const c = setCondition(b, { type: 'X', status: 'False', reason: 'Broke', message: 'x' }, 2, t1);
    expect(c[0]?.lastTransitionTime).toBe('2026-01-01T00:05:00Z');
    expect(a[0]?.reason).toBe('Ok');
  });

  it('keeps order and appends new types', () => {
    const cs = setConditions(
      [],
      [
        { type: 'A', status: 'True', reason: 'R', message: '' },
        { type: 'B', status: 'False', reason: 'R', message: '' },
      ],
      undefined,
      t0,
    );
    expect(cs.map((c) => c.type)).toEqual(['A', 'B']);
    expect(cs[0]).not.toHaveProperty('observedGeneration');
  });

  it('detects a transition on status, reason or message', () => {
    const [c] = setCondition([], { type: 'X', status: 'True', reason: 'Ok', message: 'm' }, 1, t0);
    expect(conditionChanged(c, { type: 'X', status: 'True', reason: 'Ok', message: 'm' })).toBe(false);
    expect(conditionChanged(c, { type: 'X', status: 'True', reason: 'Ok', message: 'n' })).toBe(true);
    expect(conditionChanged(undefined, { type: 'X', status: 'True', reason: 'Ok', message: 'm' })).toBe(true);
  });
});

describe('Ready summary', () => {
  const ok = (type: string) => ({ type, status: 'True' as const, reason: 'Fine', message: 'fine' });
  it('is True only when every dependency is', () => {
    const all = ['TemplateRendered', 'WebhookConfigured', 'NamespacesSynced', 'CertificateReady'].map(ok);
    expect(summarizeReady(all)).toMatchObject({ status: 'True', reason: 'Reconciled' });
    const broken = all.map((c) =>
      c.type === 'NamespacesSynced'
        ? { ...c, status: 'False' as const, reason: 'NamespaceSyncFailed', message: 'forbidden' }
        : c,
    );
    expect(summarizeReady(broken)).toEqual({
      type: 'Ready',
      status: 'False',
      reason: 'NamespaceSyncFailed',
      message: 'NamespacesSynced: forbidden',
    });
    expect(summarizeReady(all.slice(0, 3))).toMatchObject({ status: 'Unknown', reason: 'Reconciling' });
  });

  const facts = (governed: number, conflicts: PolicyFacts['conflicts']): PolicyFacts => ({
    revision: 'r1',
    webhook: { state: 'Applied' },
    namespaces: { governed, failed: [] },
    conflicts,
    certificate: { state: 'Valid', notAfter: t1 },
  });

  it('is False with NamespaceConflict when every selected namespace is lost to another policy', () => {
    const lost = summarizeReady(policyConditions(facts(0, [{ namespace: 'a', winner: 'strong' }])));
    expect(lost).toEqual({
      type: 'Ready',
      status: 'False',
      reason: 'NamespaceConflict',
      message: 'governs no namespace: selected namespaces governed by another policy: a (governed by strong)',
    });
  });

  it('stays True when some namespaces are lost, or when nothing is selected', () => {
    const some = summarizeReady(policyConditions(facts(1, [{ namespace: 'a', winner: 'strong' }])));
    expect(some).toMatchObject({ status: 'True', reason: 'Reconciled' });
    expect(summarizeReady(policyConditions(facts(0, [])))).toMatchObject({ status: 'True' });
  });

  it('lets a failed dependency speak before a conflict', () => {
    const f = {
      ...facts(0, [{ namespace: 'a', winner: 'strong' }]),
      webhook: { state: 'WaitingForCertificate' as const },
    };
    expect(summarizeReady(policyConditions(f))).toMatchObject({
      status: 'False',
      reason: 'WaitingForCertificate',
    });
  });

  it('compares status ignoring key order', () => {
    expect(statusChanged({ revision: 'a', namespaces: 1 }, { namespaces: 1, revision: 'a' })).toBe(false);
    expect(statusChanged({ revision: 'a' }, { revision: 'b' })).toBe(true);
    expect(statusChanged(undefined, {})).toBe(false);
  });
});
