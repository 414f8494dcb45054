/**
 * `doctor`: the checks one walks through by hand when pods "just don't get the sidecar". `gather`
 * does all the I/O (API reads, a TLS probe and a dry-run review against the webhook, a dry-run pod
 * create); `runChecks` is a pure function of what was gathered; `report` formats the results.
 */
export { exitCodeOf, worst, type CheckResult, type CheckStatus } from './check.js';
export { gatherInputs, type GatherOptions } from './gather.js';
export { gatherMigration } from './gather-migration.js';
export {
  formatPlan,
  planHasWork,
  planMigration,
  type MigrationInputs,
  type MigrationPlan,
} from './migration.js';
export type { DoctorInputs } from './inputs.js';
export { formatJson, formatText } from './report.js';
export { runChecks } from './run-checks.js';
