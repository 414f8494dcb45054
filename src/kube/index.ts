export { applyObject, applyStatus, FIELD_MANAGER, jsonPatch } from './apply.js';
export { loadKubeConfig, PooledKubeConfig, type KubeConfigSource } from './config.js';
export {
  apiFailure,
  describeFailure,
  isAlreadyExists,
  isConflict,
  isForbidden,
  isGone,
  isInvalid,
  isNotFound,
  KubeError,
  type ApiFailure,
} from './errors.js';
export {
  Informer,
  type Cache,
  type InformerEvent,
  type InformerEventType,
  type InformerOptions,
} from './informer.js';
export { requestJson, type RawRequest } from './request.js';
export { createControllerMetrics, type ControllerMetrics } from './controller-metrics.js';
export { LeaderElector, type LeaderElectionOptions } from './leader.js';
export { realTimers, WorkQueue, type QueueTimers, type WorkQueueOptions } from './queue.js';
export { createEventRecorder, type EventRecorder } from './recorder.js';
export type { EventType, InvolvedObject } from './events.js';
export {
  describeObject,
  describeStepFailure,
  failuresOf,
  ReconcileError,
  refOfKey,
  retryAction,
  stepFailure,
  type ObjectRef,
  type ReconcileStep,
  type RetryAction,
  type StepFailure,
} from './step-failure.js';
export {
  ReconcileLoop,
  TerminalError,
  type KeyReconciler,
  type ReconcileLoopOptions,
  type ReconcileResult,
} from './reconcile-loop.js';
