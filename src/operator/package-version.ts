import { readFileSync } from 'node:fs';

/**
 * The package version (package.json sits two levels above both src/operator and dist/operator). The
 * single-file executable has no package beside it: its bundler replaces this module with the
 * constant (hack/dist/build.ts).
 */
export const version: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
