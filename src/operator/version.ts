import { version } from './package-version.js';

export { version };

/**
 * The image `sidecar-init` runs when a policy names none: this release's own image, whose
 * `sidecar-operator iptables` understands the flags this release renders. Here rather than in
 * config.ts so that the offline commands get it without loading what the operator runs with.
 */
export const DEFAULT_INIT_IMAGE = `ghcr.io/sidecar-operator/sidecar-operator:v${version}`;
