import type { ResolvedSidecarPolicySpec } from '../api/index.js';

/** The SidecarPolicy spec the compiler reads, every schema default applied. */
export type DefaultedSpec = ResolvedSidecarPolicySpec;
