import { describe, expect, it } from 'vitest';
import { podsAdmissibleCondition, type NamespaceVerdict } from './admission-condition.js';
import { summarizeReady } from './summary.js';
import type { ConditionInput } from './conditions.js';

const admitted: NamespaceVerdict = { state: 'admitted' };
const refused = (message: string, podSecurity?: 'baseline' | 'restricted'): NamespaceVerdict =>
  podSecurity ? { state: 'refused', message, podSecurity } : { state: 'refused', message };

const ns = (namespace: string, verdict?: NamespaceVerdict) =>
  verdict ? { namespace, verdict } : { namespace };

describe('podsAdmissibleCondition', () => {
  it('is True when every governed namespace admits the pod', () => {
    const c = podsAdmissibleCondition({ enabled: true, namespaces: [ns('a', admitted), ns('b', admitted)] });
    expect(c).toMatchObject({ type: 'PodsAdmissible', status: 'True', reason: 'PodsAdmitted' });
    expect(c.message).toContain('all 2 governed namespaces');
  });

  it('is True with nothing governed', () => {
    expect(podsAdmissibleCondition({ enabled: true, namespaces: [] })).toMatchObject({
      status: 'True',
      reason: 'NoNamespacesSelected',
    });
  });

  it('is False on one refusal, naming the namespace and the server words, with the Pod Security ways out', () => {
    const c = podsAdmissibleCondition({
      enabled: true,
      namespaces: [
        ns('a', admitted),
        ns('strict', refused('pods "x" is forbidden: violates PodSecurity "baseline:latest"', 'baseline')),
        ns('c'),
      ],
    });
    expect(c.status).toBe('False');
    expect(c.reason).toBe('PodsRefused');
    expect(c.message).toContain('in 1 of 3 governed namespaces: strict: pods "x" is forbidden');
    expect(c.message).toContain('pod-security.kubernetes.io/enforce=privileged');
    expect(c.message).toContain('exemptions.namespaces');
    expect(c.message).toContain('mode: None');
  });

  it('names the first three refusing namespaces and counts the rest', () => {
    const names = ['n1', 'n2', 'n3', 'n4', 'n5'];
    const c = podsAdmissibleCondition({
      enabled: true,
      namespaces: names.map((n) => ns(n, refused('exceeded quota'))),
    });
    expect(c.message).toContain('n1: exceeded quota; n2: exceeded quota; n3: exceeded quota (and 2 more)');
    expect(c.message).not.toContain('n4');
    expect(c.message).not.toContain('Pod Security');
  });

  it('is Unknown while a namespace has no verdict, failures before pending', () => {
    expect(
      podsAdmissibleCondition({ enabled: true, namespaces: [ns('a', admitted), ns('b')] }),
    ).toMatchObject({
      status: 'Unknown',
      reason: 'AdmissionCheckPending',
      message: 'not every one of the 2 governed namespaces has been checked yet',
    });
    const failed = podsAdmissibleCondition({
      enabled: true,
      namespaces: [ns('a'), ns('b', { state: 'unknown', message: 'no answer' })],
    });
    expect(failed).toMatchObject({ status: 'Unknown', reason: 'AdmissionCheckFailed' });
    expect(failed.message).toContain('b: no answer');
  });

  it('is Unknown with the reason when turned off', () => {
    expect(podsAdmissibleCondition({ enabled: false, namespaces: [ns('a', admitted)] })).toMatchObject({
      status: 'Unknown',
      reason: 'AdmissionCheckDisabled',
    });
  });
});

describe('Ready and PodsAdmissible', () => {
  const deps: ConditionInput[] = [
    'TemplateRendered',
    'WebhookConfigured',
    'NamespacesSynced',
    'CertificateReady',
  ].map((type) => ({ type, status: 'True', reason: 'Ok', message: '' }));
  const with_ = (c: ConditionInput) => summarizeReady([...deps, c]);

  it('is False when pods are refused, carrying the reason and message up', () => {
    const pods = podsAdmissibleCondition({ enabled: true, namespaces: [ns('a', refused('no'))] });
    expect(with_(pods)).toMatchObject({ status: 'False', reason: 'PodsRefused' });
    expect(with_(pods).message).toMatch(/^PodsAdmissible: .*a: no/);
  });

  it('stays True while unchecked, without verdict or turned off', () => {
    for (const pods of [
      podsAdmissibleCondition({ enabled: true, namespaces: [ns('a')] }),
      podsAdmissibleCondition({ enabled: true, namespaces: [ns('a', { state: 'unknown', message: 'x' })] }),
      podsAdmissibleCondition({ enabled: false, namespaces: [] }),
    ])
      expect(with_(pods)).toMatchObject({ status: 'True', reason: 'Reconciled' });
  });

  it('lets an earlier dependency decide first', () => {
    const broken = deps.map((d) => (d.type === 'WebhookConfigured' ? { ...d, status: 'False' as const } : d));
    const pods = podsAdmissibleCondition({ enabled: true, namespaces: [ns('a', refused('no'))] });
    expect(summarizeReady([...broken, pods]).message).toMatch(/^WebhookConfigured/);
  });
});
