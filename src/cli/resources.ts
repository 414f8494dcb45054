import { readFileSync } from 'node:fs';

/** The package's files the CLI reads at run time, by their path from the package root. */
export type Resource = 'crds/sidecar.dev_sidecarpolicies.yaml';

/**
 * A file of the package (the root sits two levels above both src/cli and dist/cli). The single-file
 * executable has no package beside it: its bundler replaces this module with one that carries the
 * files' text (hack/dist/build.ts).
 */
export function readResource(name: Resource): string {
  return readFileSync(new URL(`../../${name}`, import.meta.url), 'utf8');
}
