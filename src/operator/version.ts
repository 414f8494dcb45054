import { readFileSync } from 'node:fs';

/** The package version (package.json sits two levels above both src/cli and dist/cli). */
export const version: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/**
 * The image `sidecar-init` runs when a policy names none: this release's own image, whose
 * `sidecar-operator iptables` understands the flags this release renders. Here rather than in
 * config.ts so that the offline commands get it without loading what the operator runs with.
 */
export const DEFAULT_INIT_IMAGE = `ghcr.io/sidecar-operator/sidecar-operator:v${version}`;
