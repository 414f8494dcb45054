/**
 * `doctor`: the checks one walks through by hand when pods "just don't get the sidecar". `gather`
 * does all the I/O (API reads, a TLS probe and a dry-run review against the webhook, a dry-run pod
 * create), in stages; the checks are pure functions of what was gathered; `stream` runs a stage's
 * checks as soon as it is gathered; `report` formats the results. Every warn and fail carries a
 * code from `codes`.
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
export { CODES, docsAnchor, type Code } from './codes.js';
export { checkPolicyFile, type PolicyFileInputs } from './offline-checks.js';
export { formatJson, formatResult, formatSummary, formatText } from './report.js';
export { runChecks } from './run-checks.js';
export { streamDoctor, type DoctorListener } from './stream.js';
