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
  /**
   * The webhook's serving certificate is valid (not expired) and trusted by the API server: every CA
   * of its bundle is in the policy's caBundle. Renewal before expiry is the certificate loop's.
   */
  CertificateReady: 'CertificateReady',
  /** True when another policy with higher precedence governs a namespace this one selects. */
  Conflict: 'Conflict',
} as const;
export type ConditionType = (typeof ConditionType)[keyof typeof ConditionType];

/** CamelCase reasons of every condition (metav1.Condition reason pattern), stable for alerts and tests. */
export const Reason = {
  Reconciled: 'Reconciled',
  Reconciling: 'Reconciling',
  InvalidPolicy: 'InvalidPolicy',
  Rendered: 'Rendered',
  /** The API server refused the injector ConfigMap. */
  ConfigMapApplyFailed: 'ConfigMapApplyFailed',
  WebhookApplied: 'WebhookApplied',
  WebhookApplyFailed: 'WebhookApplyFailed',
  WaitingForCertificate: 'WaitingForCertificate',
  NamespacesMarked: 'NamespacesMarked',
  NamespaceSyncFailed: 'NamespaceSyncFailed',
  NoNamespacesSelected: 'NoNamespacesSelected',
  CertificateValid: 'CertificateValid',
  CertificateMissing: 'CertificateMissing',
  CertificateExpired: 'CertificateExpired',
  /** The policy's caBundle does not hold every CA of the bundle yet: the API server would refuse. */
  BundleNotDistributed: 'BundleNotDistributed',
  NoConflict: 'NoConflict',
  NamespaceConflict: 'NamespaceConflict',
  /** RolloutComplete: no injected pod runs an older revision. */
  UpToDate: 'UpToDate',
  /** RolloutComplete, strategy Manual, stale pods: restarting them is left to the user. */
  ManualRollout: 'ManualRollout',
  /** RolloutComplete, strategy Restart: workloads are being restarted in waves. */
  RolloutInProgress: 'RolloutInProgress',
  /** RolloutComplete, strategy Restart: every workload that can be restarted runs the revision; others remain. */
  NotRestartable: 'NotRestartable',
  /** RolloutComplete, strategy Restart, stale pods: this installation does not let the operator restart workloads. */
  RolloutNotPermitted: 'RolloutNotPermitted',
  /** RolloutComplete Unknown: this installation does not count pods (no `list pods`). */
  PodsNotCounted: 'PodsNotCounted',
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];
