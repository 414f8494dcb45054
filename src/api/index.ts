// The SidecarPolicy API: generated types (from crds/), constants, and defaulting.
export type * from './generated/sidecarpolicy.js';
export { specDefaults, specDefaulting, type DefaultingNode } from './generated/defaults.js';
export * from './constants.js';
export * from './conditions.js';
export { applyDefaulting, withDefaults } from './defaults.js';
