export {
  conditionChanged,
  findCondition,
  formatTime,
  setCondition,
  setConditions,
  type ConditionInput,
} from './conditions.js';
export { READY_BLOCKERS, READY_DEPENDENCIES, statusChanged, summarizeReady } from './summary.js';
export {
  certificateCondition,
  conflictCondition,
  namespacesCondition,
  policyConditions,
  templateCondition,
  webhookCondition,
  type PolicyFacts,
} from './policy-conditions.js';
export { ROLLOUT_CONDITION, rolloutCondition, type RolloutFacts } from './rollout-condition.js';
export { certificateFacts, EventReason, transitionEvents, type PolicyEvent } from './events.js';
export { countPods, isOutdated, podEventMatters, type PodCounts, type PodMeta } from './pod-counts.js';
export {
  podSecurityWaysOut,
  podsAdmissibleCondition,
  type AdmissionFacts,
  type NamespaceVerdict,
  type RefusingPodSecurity,
} from './admission-condition.js';
export { POD_STATES, policyGauges, type PodState, type PolicyGauges } from './policy-gauges.js';
