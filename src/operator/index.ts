export {
  CHART_VALUES,
  DEFAULT_INIT_IMAGE,
  DEFAULTS,
  resolveConfig,
  RUN_FLAGS,
  type CertSource,
  type FlagKind,
  type FlagSpec,
  type OperatorConfig,
  type OperatorSettings,
  type ResolvedConfig,
} from './config.js';
export { detectServerFeatures, type ServerFeatures } from './features.js';
export { startOperator, type OperatorHandle } from './operator.js';
