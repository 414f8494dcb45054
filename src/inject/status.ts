import { INJECT_ANNOTATION, REVISION_LABEL, STATUS_ANNOTATION } from '../api/index.js';

export { REVISION_LABEL, STATUS_ANNOTATION };
/** Label or annotation; a false-like value opts the pod out. */
export const INJECT_KEY = INJECT_ANNOTATION;
export const DEFAULT_CONTAINER_ANNOTATION = 'kubectl.kubernetes.io/default-container';

/** What the status annotation records: enough to count stale pods and to undo an injection. */
export interface InjectionStatus {
  policy: string;
  revision: string;
  initContainers: string[];
  containers: string[];
  volumes: string[];
}

export function formatStatus(status: InjectionStatus): string {
  const { policy, revision, initContainers, containers, volumes } = status;
  return JSON.stringify({ policy, revision, initContainers, containers, volumes });
}

/** The recorded status, or undefined when absent; a malformed one still marks the pod as injected. */
export function parseStatus(
  annotations: Readonly<Record<string, string>> | undefined,
): InjectionStatus | undefined {
  const raw = annotations?.[STATUS_ANNOTATION];
  if (raw === undefined) return undefined;
  const names = (v: unknown): string[] =>
    Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  try {
    const v = JSON.parse(raw) as Record<string, unknown>;
    return {
      policy: typeof v.policy === 'string' ? v.policy : '',
      revision: typeof v.revision === 'string' ? v.revision : '',
      initContainers: names(v.initContainers),
      containers: names(v.containers),
      volumes: names(v.volumes),
    };
  } catch {
    return { policy: '', revision: '', initContainers: [], containers: [], volumes: [] };
  }
}
