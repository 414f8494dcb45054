import type { ResolvedSidecarPolicySpec } from '../api/generated/sidecarpolicy.js';

/** The SidecarPolicy spec the compiler reads, every schema default applied. */
export type DefaultedSpec = ResolvedSidecarPolicySpec;
