/** Condition types a SidecarPolicy reports in status.conditions. */
export const ConditionType = {
  /** Everything below holds: the policy is in force. */
  Ready: 'Ready',
  /** The policy's injector template ConfigMap is rendered for the current generation. */
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
  /**
   * A representative injected pod would be admitted in every governed namespace: the API server's
   * answer to a server-side dry-run create (Pod Security, quota, LimitRange, other webhooks).
   */
  PodsAdmissible: 'PodsAdmissible',
} as const;
export type ConditionType = (typeof ConditionType)[keyof typeof ConditionType];

/** CamelCase reasons of every condition (metav1.Condition reason pattern), stable for alerts and tests. */
export const Reason = {
  Reconciled: 'Reconciled',
  Reconciling: 'Reconciling',
  InvalidPolicy: 'InvalidPolicy',
  /** The policy's rendered template is over the per-policy size limit: it is not written. */
  TemplateTooLarge: 'TemplateTooLarge',
  Rendered: 'Rendered',
  /** The API server refused the policy's injector template ConfigMap. */
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
  /** PodsAdmissible: every governed namespace admits the representative injected pod. */
  PodsAdmitted: 'PodsAdmitted',
  /** PodsAdmissible: the API server refuses the representative injected pod in some namespace. */
  PodsRefused: 'PodsRefused',
  /** PodsAdmissible: a governed namespace has not been checked yet. */
  AdmissionCheckPending: 'AdmissionCheckPending',
  /** PodsAdmissible: a dry run got no verdict (no answer, no permission, a webhook without dry-run support). */
  AdmissionCheckFailed: 'AdmissionCheckFailed',
  /** PodsAdmissible: the check is turned off (`--admission-check=false`). */
  AdmissionCheckDisabled: 'AdmissionCheckDisabled',
  /** RolloutComplete, strategy Restart, stale pods: this installation does not let the operator restart workloads. */
  RolloutNotPermitted: 'RolloutNotPermitted',
  /** RolloutComplete Unknown: this installation does not count pods (no `list pods`). */
  PodsNotCounted: 'PodsNotCounted',
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];
