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
 * Nothing here reads a clock, the environment or the network.
 */
export { compileTemplate, type PolicyInput } from './compile-policy.js';
export { compileSpec, resolveMode, type CompileOptions } from './compile.js';
export {
  decideInjection,
  EXCLUDED_NAMESPACES,
  NAMESPACE_INJECTION_LABEL,
  type InjectContext,
} from './decide.js';
export { injectPod, type InjectResult } from './inject-pod.js';
export { escapePointer, type PatchOperation } from './json-patch.js';
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
