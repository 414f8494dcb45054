import type { V1LabelSelector, V1MutatingWebhookConfiguration } from '@kubernetes/client-node';
import {
  API_VERSION,
  INJECT_LABEL,
  INJECTION_DISABLED,
  INJECTION_LABEL,
  KIND,
  NEVER_INJECTED_NAMESPACES,
  POLICY_LABEL,
  withDefaults,
  type SidecarPolicy,
} from '../api/index.js';
import { ISTIO_INJECT } from '../inject/istio-annotations.js';
import { MANAGED_BY, MANAGED_BY_LABEL } from './injector-configmap.js';

/** cert-manager's cainjector copies the named Certificate's CA into every caBundle of the object. */
export const INJECT_CA_FROM = 'cert-manager.io/inject-ca-from';

/** Label naming the policy a webhook configuration belongs to (finds orphans of deleted policies). */
export const OWNER_POLICY_LABEL = 'sidecar.dev/owner-policy';
/** The namespace label every namespace carries since Kubernetes 1.21 (set by the API server). */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/** How the API server reaches the webhook: the in-cluster Service, or a URL (out-of-cluster runs). */
export type WebhookTarget = { service: { namespace: string; name: string; port?: number } } | { url: string };

export interface WebhookRenderOptions {
  /** PEM bundle of the CAs that signed the serving certificate. */
  caBundle: string;
  target: WebhookTarget;
  operatorNamespace: string;
}

export function injectPath(policy: string): string {
  return `/inject/${encodeURIComponent(policy)}`;
}

export function webhookName(policy: string): string {
  return `${policy}.sidecar.dev`;
}

function clientConfig(policy: string, opts: WebhookRenderOptions) {
  const caBundle = Buffer.from(opts.caBundle).toString('base64');
  if ('url' in opts.target) {
    return { url: opts.target.url.replace(/\/+$/, '') + injectPath(policy), caBundle };
  }
  const { namespace, name, port } = opts.target.service;
  return { service: { namespace, name, path: injectPath(policy), port: port ?? 443 }, caBundle };
}

/**
 * The pod selector plus the opt-out label, so pods labelled `sidecar.dev/inject: "false"` never
 * reach the webhook at all (and so are never blocked by `failurePolicy: Fail`). With Istio
 * compatibility, Istio's opt-out label too, and no pod selector: Istio's "true" (label or
 * annotation) selects pods the podSelector does not, which a label selector cannot say, so the
 * handler applies the podSelector itself.
 */
function objectSelector(podSelector: V1LabelSelector | undefined, istio: boolean): V1LabelSelector {
  const pods = istio ? undefined : podSelector;
  return {
    ...(pods?.matchLabels ? { matchLabels: { ...pods.matchLabels } } : {}),
    matchExpressions: [
      ...(pods?.matchExpressions ?? []).map((e) => ({ ...e })),
      { key: INJECT_LABEL, operator: 'NotIn', values: ['false'] },
      ...(istio ? [{ key: ISTIO_INJECT, operator: 'NotIn', values: ['false'] }] : []),
    ],
  };
}

/**
 * One MutatingWebhookConfiguration per policy, named after it and controlled by it. The
 * namespaceSelector matches only namespaces the controller marked for this policy, so each namespace
 * has exactly one governing webhook; the exclusions repeat the never-injected rules so that a stray
 * mark cannot make the API server call us for system namespaces or our own.
 */
export function renderWebhookConfiguration(
  policy: SidecarPolicy,
  opts: WebhookRenderOptions,
): V1MutatingWebhookConfiguration {
  const name = policy.metadata?.name ?? '';
  const spec = withDefaults(policy.spec);
  const excluded = [...new Set([...NEVER_INJECTED_NAMESPACES, opts.operatorNamespace])];
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: {
      name,
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY, [OWNER_POLICY_LABEL]: name },
      ownerReferences: [
        {
          apiVersion: API_VERSION,
          kind: KIND,
          name,
          uid: policy.metadata?.uid ?? '',
          controller: true,
          // Foreground deletion need not wait for it: the finalizer removes it first anyway, and
          // true would require update rights on the policies' finalizers subresource.
          blockOwnerDeletion: false,
        },
      ],
    },
    webhooks: [
      {
        name: webhookName(name),
        admissionReviewVersions: ['v1'],
        sideEffects: 'None',
        failurePolicy: spec.injection.failurePolicy,
        timeoutSeconds: spec.injection.timeoutSeconds,
        reinvocationPolicy: 'IfNeeded',
        matchPolicy: 'Equivalent',
        clientConfig: clientConfig(name, opts),
        rules: [
          {
            apiGroups: [''],
            apiVersions: ['v1'],
            operations: ['CREATE'],
            resources: ['pods'],
            scope: 'Namespaced',
          },
        ],
        namespaceSelector: {
          matchLabels: { [POLICY_LABEL]: name },
          matchExpressions: [
            { key: INJECTION_LABEL, operator: 'NotIn', values: [INJECTION_DISABLED] },
            { key: NAMESPACE_NAME_LABEL, operator: 'NotIn', values: excluded },
          ],
        },
        objectSelector: objectSelector(spec.selector.podSelector, spec.compatibility?.istio === true),
      },
    ],
  };
}

/** The caBundles (PEM) of a rendered or stored configuration, for certificate distribution checks. */
export function caBundlesOf(mwc: V1MutatingWebhookConfiguration): string[] {
  return (mwc.webhooks ?? []).map((w) => Buffer.from(w.clientConfig.caBundle ?? '', 'base64').toString());
}

/**
 * The configuration as it is applied when cert-manager issues: without caBundle, so cainjector owns
 * that field (server-side apply never removes a field another manager owns), and annotated with the
 * Certificate (`ns/name`) cainjector reads the CA from.
 */
export function forCertManager(
  desired: V1MutatingWebhookConfiguration,
  certificate: string,
): V1MutatingWebhookConfiguration {
  return {
    ...desired,
    metadata: {
      ...desired.metadata,
      annotations: { ...desired.metadata?.annotations, [INJECT_CA_FROM]: certificate },
    },
    webhooks: (desired.webhooks ?? []).map((w) => {
      const { caBundle: _caBundle, ...clientConfig } = w.clientConfig;
      return { ...w, clientConfig };
    }),
  };
}
