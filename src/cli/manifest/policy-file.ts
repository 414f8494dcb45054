import { API_VERSION, KIND, withDefaults, type SidecarPolicySpec } from '../../api/index.js';
import { specSchema } from '../../api/generated/spec-schema.js';
import type { PolicyInput } from '../../inject/index.js';
import { schemaProblems, type Schema } from '../../inject/validate.js';
import { celProblems } from './cel-rules.js';
import { isEmptyDocument, readDocuments } from './yaml.js';

/** A policy file read: the policy when it is one, else every problem, each naming its field. */
export interface PolicyFile {
  /** The index of the document the problems are in. */
  document: number;
  policy?: PolicyInput;
  problems: string[];
}

/**
 * The one SidecarPolicy of a YAML file, checked as the API server would: the CRD's schema for
 * `spec` (generated from it) and its CEL rules on the defaulted spec. Every problem at once, as the
 * API server lists them, so that one run shows all there is to fix.
 */
export function readPolicyFile(text: string): PolicyFile {
  const all = readDocuments(text);
  const broken = all.findIndex((d) => d.errors.length > 0);
  if (broken >= 0) return { document: broken, problems: [all[broken]!.errors[0]!.message.split('\n')[0]!] };
  // Empty documents (a trailing `---`, comments only) are skipped, as kubectl skips them.
  const docs = [...all.entries()].filter(([, d]) => !isEmptyDocument(d));
  if (docs.length !== 1)
    return {
      document: docs[1]?.[0] ?? 0,
      problems: [`expected exactly one SidecarPolicy, found ${docs.length} documents`],
    };
  const [i, doc] = docs[0]!;
  const policy = doc.toJS() as unknown;
  if (policy === null || typeof policy !== 'object' || Array.isArray(policy))
    return { document: i, problems: ['not an object'] };
  const p = policy as Record<string, unknown>;
  const problems: string[] = [];
  if (p.apiVersion !== API_VERSION) problems.push(`apiVersion: must be ${API_VERSION}`);
  if (p.kind !== KIND) problems.push(`kind: must be ${KIND}`);
  const name = (p.metadata as { name?: unknown } | undefined)?.name;
  if (typeof name !== 'string' || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name))
    problems.push('metadata.name: required, a lowercase DNS name');
  const schema = specSchema as Schema;
  problems.push(...schemaProblems(p.spec, schema, 'spec'));
  // The CEL rules, on the spec as the API server sees it (defaulted), once its shape is right.
  if (problems.length === 0)
    problems.push(...celProblems(withDefaults(p.spec as SidecarPolicySpec), schema, 'spec'));
  return problems.length > 0
    ? { document: i, problems }
    : { document: i, policy: policy as PolicyInput, problems };
}
