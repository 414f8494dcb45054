import { version } from './version.js';

/**
 * The image `sidecar-init` runs when a policy names none: this release's own image, whose
 * `sidecar-operator iptables` understands the flags this release renders.
 */
export const DEFAULT_INIT_IMAGE = `ghcr.io/sidecar-operator/sidecar-operator:v${version}`;
