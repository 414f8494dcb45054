/**
 * Every code a doctor warning or failure carries, in one place: stable across releases (a code is
 * never reused for another meaning), grouped by tens as one walks through an install — cluster,
 * operator, webhook, certificates, policies, namespaces, pods, the running sidecar, other meshes,
 * policy files checked offline. docs/doctor.md has a section per code, anchored by the code in
 * lower case; a test keeps the two in step.
 */
export const CODES = {
  SO101: 'the API server cannot be reached',
  SO102: 'the API server version is unknown',
  SO103: 'the cluster has no native sidecars',
  SO104: 'admissionregistration.k8s.io/v1 is not served',
  SO105: 'the SidecarPolicy CRD is not installed',

  SO110: 'several namespaces look like the operator’s',
  SO111: 'the operator was not found',
  SO112: 'the operator Deployment is scaled to 0',
  SO113: 'no operator replica is ready',
  SO114: 'some operator replicas are not ready',
  SO115: 'the webhook Service has no ready endpoints',
  SO116: 'no operator holds the leader Lease',
  SO117: 'the leader has stopped renewing its Lease',
  SO118: 'an operator replica is not ready by its /readyz',
  SO119: 'an operator replica’s /readyz cannot be reached',

  SO120: 'a policy’s MutatingWebhookConfiguration is missing',
  SO121: 'the caBundle does not verify the served certificate',
  SO122: 'the caBundle is empty',
  SO123: 'the webhook cannot be connected to',
  SO124: 'the served certificate does not name the webhook',
  SO125: 'the webhook cannot be reached from where doctor runs',
  SO126: 'the webhook does not answer an AdmissionReview',
  SO127: 'the webhook admits a pod without injecting it',
  SO128: 'the API server does not inject a dry-run pod',
  SO129: 'the API server’s call to the webhook was not verified',

  SO130: 'a certificate has expired',
  SO131: 'a certificate expires soon',
  SO132: 'certificate expiry was not checked',

  SO140: 'no SidecarPolicy exists',
  SO141: 'a policy is not reconciled',
  SO142: 'a policy is not Ready',
  SO143: 'a Ready policy has no injector template',
  SO144: 'a policy’s status and template revisions differ',
  SO145: 'a policy lost namespaces to another',
  SO146: 'a policy counts pods without a sidecar',
  SO147: 'a webhook configuration outlived its policy',
  SO148: 'the operator has rendered no injector template',
  SO149: 'an injector template cannot be read',

  SO150: 'the namespace does not exist',
  SO151: 'the namespace is never injected',
  SO152: 'the namespace opted out',
  SO153: 'the namespace carries a stale policy mark',
  SO154: 'no policy selects the namespace',
  SO155: 'the namespace is not marked for its policy',
  SO156: 'the namespace’s revision annotation lags',
  SO157: 'Pod Security refuses the sidecar',
  SO158: 'the API server refuses injected pods',
  SO159: 'the admission check has no verdict',

  SO160: 'the pod does not exist',
  SO161: 'no policy governs the pod’s namespace',
  SO162: 'sidecar-like containers not injected by the operator',
  SO163: 'the pod’s sidecar is outdated',
  SO164: 'the pod’s sidecar runs other images',
  SO165: 'the pod has half a sidecar',
  SO166: 'the pod missed injection',
  SO167: 'the pod is not injected',
  SO168: 'the proxy is not given its configuration',
  SO169: 'the proxy reads a file that cannot exist',

  SO170: 'sidecar-init fails',
  SO171: 'the proxy has not started',
  SO172: 'the proxy cannot start',
  SO173: 'the proxy is not ready',

  SO180: 'pods carry another mesh’s sidecar',
  SO181: 'another mesh’s injector races ours',
  SO182: 'other meshes could not be looked for',
  SO183: 'a pod carries two meshes’ sidecars',

  SO190: 'the policy file is not a valid SidecarPolicy',
  SO191: 'the policy selects no namespace',
  SO192: 'the policy selects every namespace',
  SO193: 'an image is not pinned',
  SO194: 'an image reference is invalid',
  SO195: 'the rendered template is too large',
  SO196: 'the policy names a namespace that is never injected',
  SO197: 'the policy does not compile',
} as const satisfies Record<string, string>;

export type Code = keyof typeof CODES;

/** Where each code is explained, relative to the repository (the same file ships in the image's docs). */
export const DOCS_PAGE = 'docs/doctor.md';

export function docsAnchor(code: Code): string {
  return `${DOCS_PAGE}#${code.toLowerCase()}`;
}
