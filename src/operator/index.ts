export {
  DEFAULT_LEASE_NAME,
  DEFAULT_SECRET,
  detectServerFeatures,
  startOperator,
  type OperatorConfig,
  type OperatorHandle,
  type ServerFeatures,
} from './operator.js';
