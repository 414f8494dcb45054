/** Condition types a SidecarPolicy reports in status.conditions. */
export const ConditionType = {
  /** Everything below holds: the policy is in force. */
  Ready: 'Ready',
  /** The injector template ConfigMap is rendered for the current generation. */
  TemplateRendered: 'TemplateRendered',
  /** The MutatingWebhookConfiguration is applied with a current caBundle. */
  WebhookConfigured: 'WebhookConfigured',
  /** Every governed namespace carries the policy's marks, and no other does. */
  NamespacesSynced: 'NamespacesSynced',
  /** The webhook's serving certificate is valid and not about to expire. */
  CertificateReady: 'CertificateReady',
  /** True when another policy with higher precedence governs a namespace this one selects. */
  Conflict: 'Conflict',
} as const;
export type ConditionType = (typeof ConditionType)[keyof typeof ConditionType];

/** CamelCase reasons (metav1.Condition reason pattern), stable for alerts and tests. */
export const Reason = {
  Reconciled: 'Reconciled',
  Reconciling: 'Reconciling',
  Deleting: 'Deleting',
  InvalidPolicy: 'InvalidPolicy',
  Rendered: 'Rendered',
  RenderFailed: 'RenderFailed',
  WebhookApplied: 'WebhookApplied',
  WebhookApplyFailed: 'WebhookApplyFailed',
  WaitingForCertificate: 'WaitingForCertificate',
  NamespacesMarked: 'NamespacesMarked',
  NamespaceSyncFailed: 'NamespaceSyncFailed',
  NoNamespacesSelected: 'NoNamespacesSelected',
  CertificateValid: 'CertificateValid',
  CertificateMissing: 'CertificateMissing',
  CertificateExpiring: 'CertificateExpiring',
  CertificateExpired: 'CertificateExpired',
  NoConflict: 'NoConflict',
  NamespaceConflict: 'NamespaceConflict',
  DependencyNotReady: 'DependencyNotReady',
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];
