/**
 * The injection engine: pure functions from a policy and a pod to the injected pod and the JSON Patch
 * that produces it. Used by the controller (compile, once per policy change), the webhook (decide and
 * inject, per pod CREATE) and the offline `inject` command (all three).
 *
 * - `compileTemplate(policy, { nativeSidecars, initImage })` → `CompiledTemplate`: plain JSON, stored in the
 *   injector ConfigMap (one entry per policy); `revision` is a hash of the rest.
 * - `decideInjection(pod, template, ctx)` → `{ inject, reason, message }`: the reason is a CamelCase
 *   code for Events and logs, the message a sentence.
 * - `injectPod(pod, template, ctx)` → `{ decision, pod, patch, warnings }`: `patch` is RFC 6902 and
 *   empty when nothing is injected (so injecting an injected pod yields no patch); `warnings` name the
 *   override annotations that were not applied.
 *
 * - `compileTemplate` also renders the proxy's configuration (`template.proxyConfig`: an Envoy
 *   bootstrap per interception mode, bootstrap.ts / proxy-config.ts), which sidecar-init writes into
 *   the proxy's memory volume when the pod starts (`resolveAtStart`).
 *
 * Nothing here reads a clock, the environment or the network.
 */
export { compileTemplate, type PolicyInput } from './compile-policy.js';
export { compileSpec, resolveMode, type CompileOptions } from './compile.js';
export { BOOTSTRAP_NAMES, renderBootstrap, type BootstrapParams } from './bootstrap.js';
export { BootstrapTemplateError, COMPILE_SUBSTITUTIONS, START_SUBSTITUTIONS } from './bootstrap-template.js';
export {
  CONFIG_MOUNT_PATH,
  PROXY_CONFIG_ENV,
  PROXY_CONFIG_FILE,
  PROXY_CONFIG_FILE_ENV,
  type ProxyConfig,
  type ProxyConfigMode,
} from './proxy-config.js';
export { resolveAtStart, type PodStart } from './proxy-config-start.js';
export {
  findContainer,
  podStartOf,
  proxyConfigPath,
  readPodProxyConfig,
  type PodProxyConfig,
} from './pod-proxy-config.js';
export {
  decideInjection,
  EXCLUDED_NAMESPACES,
  NAMESPACE_INJECTION_LABEL,
  type InjectContext,
} from './decide.js';
export { injectPod, type InjectResult } from './inject-pod.js';
export { escapePointer, pointerTokens, type PatchOperation } from './json-patch.js';
export type { Container, LabelSelector, ObjectMeta, Pod, PodSpec, Volume } from './k8s-types.js';
export type { InjectWarning, WarningReason } from './overrides.js';
export {
  findProxy,
  RESERVED_CONTAINER_NAMES,
  sidecarNames,
  sidecarPresence,
  type Presence,
  type SidecarPresence,
} from './present.js';
export type { InjectDecision, ReasonCode } from './reasons.js';
export { canonicalJson, contentHash } from './revision.js';
export {
  parseStatus,
  REVISION_LABEL,
  STATUS_ANNOTATION,
  INJECT_KEY,
  type InjectionStatus,
} from './status.js';
export {
  CONFIG_VOLUME_NAME,
  INIT_CONTAINER_NAME,
  PROXY_CONTAINER_NAME,
  type CompiledTemplate,
  type InterceptionValues,
  type SidecarMode,
} from './template.js';
