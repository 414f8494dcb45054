import { createHash } from 'node:crypto';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { isPolicyLabelValue, POLICY_LABEL } from '../api/index.js';
import type { CompiledTemplate } from '../inject/index.js';
import { containsDesired } from './contains.js';

/** Label on everything the operator creates, so its objects can be listed and cleaned up. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'sidecar-operator';

/**
 * Label of every per-policy injector template ConfigMap (value "true"): the webhook of every replica
 * and the leader's cache select them by it in the operator's namespace.
 */
export const INJECTOR_TEMPLATE_LABEL = 'sidecar.dev/injector-template';
export const INJECTOR_TEMPLATE_SELECTOR = `${INJECTOR_TEMPLATE_LABEL}=true`;
/** The data key holding the compiled template, as JSON. */
export const TEMPLATE_KEY = 'template.json';
/** Prefix of a policy's ConfigMap name: `sidecar-injector-<policy>`. */
export const INJECTOR_TEMPLATE_PREFIX = 'sidecar-injector-';

/**
 * The one ConfigMap that held every policy's template before each policy had its own (data key =
 * policy name). Read only as a fallback while a rolling upgrade runs, and removed by the leader.
 */
export const LEGACY_INJECTOR_CONFIGMAP = 'sidecar-injector';

/**
 * The largest compiled template (its JSON, in bytes) a policy may have. A ConfigMap holds at most
 * 1 MiB of data; half of it leaves room for the pod the template is injected into (a pod is stored
 * whole in etcd, at most 1.5 MiB) and for the patch that carries it back to the API server.
 */
export const MAX_TEMPLATE_BYTES = 512 * 1024;

const MAX_NAME = 253;

/**
 * The name of a policy's ConfigMap: `sidecar-injector-<policy>`. Policy names are DNS subdomains, so
 * the result is one too; a name too long for the prefix (only a policy stored before the 63-character
 * rule) is cut and ends in a hash of the whole, so two policies never share an object.
 */
export function injectorTemplateName(policy: string): string {
  const full = `${INJECTOR_TEMPLATE_PREFIX}${policy}`;
  if (full.length <= MAX_NAME) return full;
  const hash = createHash('sha256').update(policy).digest('hex').slice(0, 10);
  const kept = full.slice(0, MAX_NAME - hash.length - 1).replace(/[-.]+$/, '');
  return `${kept}-${hash}`;
}

/** Bytes of a compiled template as stored, and whether that is over MAX_TEMPLATE_BYTES. */
export function templateSize(t: CompiledTemplate): { bytes: number; tooLarge: boolean } {
  const bytes = Buffer.byteLength(JSON.stringify(t), 'utf8');
  return { bytes, tooLarge: bytes > MAX_TEMPLATE_BYTES };
}

/** The condition message of a template over the limit. */
export function templateTooLargeMessage(bytes: number): string {
  return (
    `the rendered template is ${bytes} bytes, more than the ${MAX_TEMPLATE_BYTES} allowed per policy ` +
    '(shorten proxy env values, args, command, bootstrap.template, volumes or selectors); ' +
    'the webhook goes on serving the last template that fitted'
  );
}

/** The ConfigMap of one policy: its compiled template under TEMPLATE_KEY, labelled for the watches. */
export function renderInjectorTemplate(namespace: string, t: CompiledTemplate): V1ConfigMap {
  const labels: Record<string, string> = {
    [MANAGED_BY_LABEL]: MANAGED_BY,
    [INJECTOR_TEMPLATE_LABEL]: 'true',
  };
  if (isPolicyLabelValue(t.policy)) labels[POLICY_LABEL] = t.policy;
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: injectorTemplateName(t.policy), namespace, labels },
    data: { [TEMPLATE_KEY]: JSON.stringify(t) },
  };
}

function isTemplate(v: unknown): v is CompiledTemplate {
  const t = v as Partial<CompiledTemplate> | null;
  return (
    typeof t === 'object' &&
    t !== null &&
    typeof t.policy === 'string' &&
    t.policy !== '' &&
    typeof t.revision === 'string' &&
    typeof t.proxyContainer === 'object' &&
    Array.isArray(t.volumes)
  );
}

/** One template read back: the template, or why it could not be read. */
export type ParsedTemplate = { template: CompiledTemplate } | { error: string };

/** Parses one stored template; `policy`, when known, must be the one it names. */
export function parseTemplate(raw: string | undefined, policy?: string): ParsedTemplate {
  if (raw === undefined) return { error: `no ${TEMPLATE_KEY} key` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    return { error: `invalid JSON: ${(err as Error).message}` };
  }
  if (!isTemplate(parsed) || (policy !== undefined && parsed.policy !== policy))
    return { error: 'not a compiled template for this policy' };
  return { template: parsed };
}

/**
 * The policy a template ConfigMap belongs to: its label, else (a name too long for a label value)
 * the name its template records. Undefined for an object that is not one of ours.
 */
export function templatePolicy(cm: V1ConfigMap): string | undefined {
  const labelled = cm.metadata?.labels?.[POLICY_LABEL];
  if (labelled) return labelled;
  const parsed = parseTemplate(cm.data?.[TEMPLATE_KEY]);
  return 'template' in parsed ? parsed.template.policy : undefined;
}

/** Reads a policy's ConfigMap: the template it holds, checked against its name and label. */
export function parseInjectorTemplate(cm: V1ConfigMap): ParsedTemplate {
  const parsed = parseTemplate(cm.data?.[TEMPLATE_KEY], cm.metadata?.labels?.[POLICY_LABEL]);
  if ('error' in parsed) return parsed;
  if (cm.metadata?.name !== undefined && cm.metadata.name !== injectorTemplateName(parsed.template.policy))
    return { error: `a template of policy ${parsed.template.policy} under another policy's name` };
  return parsed;
}

export interface ParsedTemplates {
  templates: Map<string, CompiledTemplate>;
  /** Entries that could not be read, by key (policy or object name), with the reason. */
  errors: { key: string; reason: string }[];
}

/** Reads every policy's ConfigMap; an unreadable one is reported and left out. */
export function parseInjectorTemplates(cms: readonly V1ConfigMap[]): ParsedTemplates {
  const templates = new Map<string, CompiledTemplate>();
  const errors: ParsedTemplates['errors'] = [];
  for (const cm of cms) {
    const parsed = parseInjectorTemplate(cm);
    if ('template' in parsed) templates.set(parsed.template.policy, parsed.template);
    else errors.push({ key: templatePolicy(cm) ?? cm.metadata?.name ?? '', reason: parsed.error });
  }
  return { templates, errors };
}

/** Reads the legacy shared ConfigMap: data key = policy name. */
export function parseLegacyInjectorConfigMap(cm: Pick<V1ConfigMap, 'data'>): ParsedTemplates {
  const templates = new Map<string, CompiledTemplate>();
  const errors: ParsedTemplates['errors'] = [];
  for (const [key, raw] of Object.entries(cm.data ?? {})) {
    const parsed = parseTemplate(raw, key);
    if ('template' in parsed) templates.set(key, parsed.template);
    else errors.push({ key, reason: parsed.error });
  }
  return { templates, errors };
}

/** Whether `current` already holds the desired template and at least the desired labels. */
export function injectorTemplateInPlace(current: V1ConfigMap | undefined, desired: V1ConfigMap): boolean {
  return (
    current !== undefined &&
    current.data?.[TEMPLATE_KEY] === desired.data?.[TEMPLATE_KEY] &&
    containsDesired(current.metadata?.labels, desired.metadata?.labels)
  );
}
