export {
  DEFAULT_LEASE_NAME,
  DEFAULT_SECRET,
  detectNativeSidecars,
  startOperator,
  type OperatorConfig,
  type OperatorHandle,
} from './operator.js';
