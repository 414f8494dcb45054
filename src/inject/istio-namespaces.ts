/** Istio's namespace labels, as its injector's webhook configurations select namespaces with them. */
export const ISTIO_INJECTION_LABEL = 'istio-injection';
export const ISTIO_REV_LABEL = 'istio.io/rev';
export const ISTIO_DEFAULT_REVISION = 'default';

/** What a policy with `compatibility.istio` reads of a namespace's Istio labels. */
export interface IstioNamespaceOptions {
  /** `compatibility.istioNamespaceLabels`: select the namespaces Istio's injector of `revision` would. */
  namespaceLabels: boolean;
  revision: string;
}

/**
 * `disabled`: Istio's label turns injection off there, and the policy stays away; `selected`: Istio
 * would inject there with the revision the policy takes over (istio-injection=enabled is the default
 * revision's, and wins over istio.io/rev, as in Istio's webhook configurations); undefined: the
 * policy's own selector decides.
 */
export function istioNamespaceState(
  labels: Readonly<Record<string, string>>,
  opts: IstioNamespaceOptions,
): 'disabled' | 'selected' | undefined {
  const injection = labels[ISTIO_INJECTION_LABEL];
  if (injection === 'disabled') return 'disabled';
  if (!opts.namespaceLabels) return undefined;
  if (injection === 'enabled') return opts.revision === ISTIO_DEFAULT_REVISION ? 'selected' : undefined;
  if (injection === undefined && labels[ISTIO_REV_LABEL] === opts.revision) return 'selected';
  return undefined;
}
