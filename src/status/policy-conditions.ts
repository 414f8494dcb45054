import { ConditionType, Reason } from '../api/index.js';
import type { ConditionInput } from './conditions.js';

/** What the reconciler found out, step by step; each undefined `error` is a success. */
export interface PolicyFacts {
  revision?: string;
  /** Set when the policy cannot be compiled: nothing will fix it but an edit. */
  invalid?: string;
  /** The reason of `invalid` (default InvalidPolicy; TemplateTooLarge when over the size limit). */
  invalidReason?: string | undefined;
  configMapError?: string;
  webhook: { state: 'Applied' } | { state: 'WaitingForCertificate' } | { state: 'Failed'; error: string };
  namespaces: { governed: number; failed: { namespace: string; error: string }[] };
  conflicts: { namespace: string; winner: string }[];
  certificate: { state: 'Missing' } | { state: 'Valid' | 'Expired' | 'NotDistributed'; notAfter: Date };
}

const cond = (
  type: string,
  status: ConditionInput['status'],
  reason: string,
  message: string,
): ConditionInput => ({ type, status, reason, message });

export function templateCondition(f: PolicyFacts): ConditionInput {
  const T = ConditionType.TemplateRendered;
  if (f.invalid) return cond(T, 'False', f.invalidReason ?? Reason.InvalidPolicy, f.invalid);
  if (f.configMapError) return cond(T, 'False', Reason.ConfigMapApplyFailed, f.configMapError);
  return cond(
    T,
    'True',
    Reason.Rendered,
    `revision ${f.revision ?? ''} in the policy's injector template ConfigMap`,
  );
}

export function webhookCondition(f: PolicyFacts): ConditionInput {
  const T = ConditionType.WebhookConfigured;
  switch (f.webhook.state) {
    case 'Applied':
      return cond(
        T,
        'True',
        Reason.WebhookApplied,
        'webhook configuration applied with the current caBundle',
      );
    case 'WaitingForCertificate':
      return cond(
        T,
        'False',
        Reason.WaitingForCertificate,
        'no serving certificate to put in the caBundle yet',
      );
    case 'Failed':
      return cond(T, 'False', Reason.WebhookApplyFailed, f.webhook.error);
  }
}

export function namespacesCondition(f: PolicyFacts): ConditionInput {
  const T = ConditionType.NamespacesSynced;
  const { governed, failed } = f.namespaces;
  if (failed.length > 0) {
    const first = failed[0]!;
    const more = failed.length > 1 ? ` (and ${failed.length - 1} more)` : '';
    return cond(
      T,
      'False',
      Reason.NamespaceSyncFailed,
      `namespace ${first.namespace}: ${first.error}${more}`,
    );
  }
  if (governed === 0)
    return cond(T, 'True', Reason.NoNamespacesSelected, 'no namespace is governed by this policy');
  return cond(T, 'True', Reason.NamespacesMarked, `${governed} namespace${governed === 1 ? '' : 's'} marked`);
}

export function certificateCondition(f: PolicyFacts): ConditionInput {
  const T = ConditionType.CertificateReady;
  const c = f.certificate;
  if (c.state === 'Missing') {
    return cond(T, 'False', Reason.CertificateMissing, 'no serving certificate has been loaded yet');
  }
  const at = c.notAfter.toISOString();
  if (c.state === 'Expired')
    return cond(T, 'False', Reason.CertificateExpired, `serving certificate expired at ${at}`);
  if (c.state === 'NotDistributed') {
    return cond(
      T,
      'False',
      Reason.BundleNotDistributed,
      `the webhook configuration's caBundle does not hold the serving certificate's CA yet (certificate expires ${at})`,
    );
  }
  return cond(T, 'True', Reason.CertificateValid, `expires ${at}`);
}

export function conflictCondition(f: PolicyFacts): ConditionInput {
  const T = ConditionType.Conflict;
  if (f.conflicts.length === 0)
    return cond(T, 'False', Reason.NoConflict, 'no other policy governs a selected namespace');
  const shown = f.conflicts
    .slice(0, 5)
    .map((c) => `${c.namespace} (governed by ${c.winner})`)
    .join(', ');
  const more = f.conflicts.length > 5 ? ` and ${f.conflicts.length - 5} more` : '';
  return cond(
    T,
    'True',
    Reason.NamespaceConflict,
    `selected namespaces governed by another policy: ${shown}${more}`,
  );
}

/** Every condition but Ready, in the order they are reported. */
export function policyConditions(f: PolicyFacts): ConditionInput[] {
  return [
    templateCondition(f),
    webhookCondition(f),
    namespacesCondition(f),
    certificateCondition(f),
    conflictCondition(f),
  ];
}
