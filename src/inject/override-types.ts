import type { InterceptionValues } from './template.js';

/**
 * Why an override annotation was not applied, or (ProxyNeverExits) why the injected pod will not
 * behave as its author may expect.
 */
export type WarningReason =
  | 'OverrideNotAllowed'
  | 'OverrideMalformed'
  | 'UnknownOverride'
  | 'OverrideShadowed'
  | 'NotHonoured'
  | 'ProxyNeverExits';

export interface InjectWarning {
  reason: WarningReason;
  /** The annotation (or field) the warning is about. */
  subject: string;
  /** A sentence that names the subject first. */
  message: string;
}

/** The per-pod result of reading override annotations. */
export interface Overrides {
  interception: InterceptionValues;
  /** Whether includeInboundPorts came from an annotation (then `*` means all ports, literally). */
  inboundFromAnnotation: boolean;
  requests: Record<string, string>;
  limits: Record<string, string>;
  warnings: InjectWarning[];
}
