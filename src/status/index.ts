export {
  conditionChanged,
  findCondition,
  formatTime,
  setCondition,
  setConditions,
  type ConditionInput,
} from './conditions.js';
export { READY_DEPENDENCIES, statusChanged, summarizeReady } from './summary.js';
