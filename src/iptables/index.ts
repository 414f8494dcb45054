/**
 * The iptables program the init container runs. The injection engine uses `buildIptablesArgs` to
 * turn policy values into the init container's arguments and `parseIptablesArgs` to read them back;
 * both follow the same flag table as the CLI.
 */
export {
  buildIptablesArgs,
  parseIptablesArgs,
  optionsFromStrings,
  IptablesFlagError,
  IPTABLES_COMMAND,
  FLAG_SPECS,
  type IptablesOptions,
  type FlagSpec,
  type IptablesOptionKey,
} from './flags.js';
export { resolveConfig, DEFAULTS, type IptablesConfig, type InterceptionMode } from './config.js';
export { parseCidr, type Cidr, type Family } from './address.js';
export {
  CHAINS,
  CHAIN_PREFIX,
  familyRules,
  natRules,
  mangleRules,
  type TableRules,
  type Hook,
} from './rules.js';
export { buildPlan, renderRestore, renderCleanup, formatDryRun, type Plan, type IpStep } from './plan.js';
export { parseSave, countRule, type SavedTable } from './saved.js';
export { parseBackend, hasGlobalIPv6, type Backend } from './detect.js';
