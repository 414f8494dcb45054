import type { Container, PodSpec } from './k8s-types.js';
import { INIT_CONTAINER_NAME, PROXY_CONTAINER_NAME, type CompiledTemplate } from './template.js';

/**
 * Whether a pod has its sidecar, going by the containers it actually has, never by the annotations
 * and labels its author could write:
 * - `complete`: every container the template adds is there by name (the init container only where
 *   the template installs rules);
 * - `partial`: some of those names are there, not all (a pod cannot run half a sidecar: injection
 *   replaces them);
 * - `absent`: none is.
 * Container names are unique across a pod's containers and init containers, so a name found in
 * either list is taken.
 */
export type SidecarPresence = 'absent' | 'partial' | 'complete';

export interface Presence {
  state: SidecarPresence;
  /** The reserved names the pod has, in the order the template adds them. */
  found: string[];
  /** The names the template adds that the pod lacks. */
  missing: string[];
}

/** The names injection reserves, whatever the template: a pod may carry none of them by chance. */
export const RESERVED_CONTAINER_NAMES: readonly string[] = [INIT_CONTAINER_NAME, PROXY_CONTAINER_NAME];

/** The container names this template adds. */
export function sidecarNames(template: CompiledTemplate): string[] {
  return template.initContainer ? [INIT_CONTAINER_NAME, PROXY_CONTAINER_NAME] : [PROXY_CONTAINER_NAME];
}

function containerNames(spec: PodSpec | undefined): Set<string> {
  const names = new Set<string>();
  const add = (list: readonly Container[] | undefined) => list?.forEach((c) => names.add(c.name));
  add(spec?.initContainers);
  add(spec?.containers);
  return names;
}

export function sidecarPresence(spec: PodSpec | undefined, template: CompiledTemplate): Presence {
  const names = containerNames(spec);
  const found = RESERVED_CONTAINER_NAMES.filter((n) => names.has(n));
  const missing = sidecarNames(template).filter((n) => !names.has(n));
  const state = found.length === 0 ? 'absent' : missing.length === 0 ? 'complete' : 'partial';
  return { state, found, missing };
}

/** The proxy container as the pod has it (in either list), if any. */
export function findProxy(spec: PodSpec | undefined): Container | undefined {
  return (
    spec?.initContainers?.find((c) => c.name === PROXY_CONTAINER_NAME) ??
    spec?.containers?.find((c) => c.name === PROXY_CONTAINER_NAME)
  );
}
