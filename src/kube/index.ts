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
export { Informer, type InformerEvent, type InformerEventType, type InformerOptions } from './informer.js';
export { requestJson, type RawRequest } from './request.js';
