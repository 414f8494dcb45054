// Generates src/api/generated/ from the SidecarPolicy CRD (the single source of truth):
//   sidecarpolicy.ts  the TypeScript types, as written (SidecarPolicySpec, fields optional where the
//                     schema defaults them) and as resolved (ResolvedSidecarPolicySpec, defaulted
//                     fields present), via json-schema-to-typescript;
//   defaults.ts       the schema's defaults, as a defaulting tree and as the fully defaulted spec;
//   spec-schema.ts    the schema of spec as data, for checking policies offline (`inject`) without
//                     parsing the CRD's YAML on every run.
// Run with `node hack/generate-api.ts` (Node 24 strips the types); the output is deterministic.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { compile } from 'json-schema-to-typescript';
import * as prettier from 'prettier';
import { parse } from 'yaml';

type Schema = Record<string, unknown> & {
  type?: string;
  description?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: Schema | boolean;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
};

const root = join(dirname(new URL(import.meta.url).pathname), '..');
const crdPath = join(root, 'crds', 'sidecar.dev_sidecarpolicies.yaml');
const outDir = join(root, 'src', 'api', 'generated');
const version = 'v1alpha1';

// Every object and enum in the schema gets a name; shapes used twice share one (the generator fails
// if a new object appears without a name, so the generated types never fall back to inline shapes).
const names: Record<string, string> = {
  '': 'SidecarPolicy',
  spec: 'SidecarPolicySpec',
  'spec.selector': 'PolicySelector',
  'spec.selector.namespaceSelector': 'LabelSelector',
  'spec.selector.namespaceSelector.matchExpressions[]': 'LabelSelectorRequirement',
  'spec.selector.namespaceSelector.matchExpressions[].operator': 'LabelSelectorOperator',
  'spec.selector.podSelector': 'LabelSelector',
  'spec.selector.podSelector.matchExpressions[]': 'LabelSelectorRequirement',
  'spec.selector.podSelector.matchExpressions[].operator': 'LabelSelectorOperator',
  'spec.injection': 'InjectionSpec',
  'spec.injection.sidecarMode': 'SidecarMode',
  'spec.injection.failurePolicy': 'FailurePolicy',
  'spec.injection.allowedOverrides[]': 'OverrideName',
  'spec.proxy': 'ProxySpec',
  'spec.proxy.env[]': 'EnvVar',
  'spec.proxy.env[].valueFrom': 'EnvVarSource',
  'spec.proxy.env[].valueFrom.fieldRef': 'ObjectFieldSelector',
  'spec.proxy.env[].valueFrom.fieldRef.apiVersion': 'FieldRefAPIVersion',
  'spec.proxy.env[].valueFrom.resourceFieldRef': 'ResourceFieldSelector',
  'spec.proxy.env[].valueFrom.configMapKeyRef': 'KeySelector',
  'spec.proxy.env[].valueFrom.secretKeyRef': 'KeySelector',
  'spec.proxy.resources': 'ResourceRequirements',
  'spec.proxy.ports': 'ProxyPorts',
  'spec.proxy.volumeMounts[]': 'VolumeMount',
  'spec.proxy.bootstrap': 'BootstrapSpec',
  'spec.proxy.bootstrap.mode': 'BootstrapMode',
  'spec.proxy.bootstrap.xds': 'XdsSpec',
  'spec.proxy.bootstrap.xds.apiType': 'XdsApiType',
  'spec.proxy.bootstrap.xds.tls': 'XdsTLS',
  'spec.volumes[]': 'PolicyVolume',
  'spec.init': 'InitSpec',
  'spec.init.resources': 'ResourceRequirements',
  'spec.interception': 'InterceptionSpec',
  'spec.interception.mode': 'InterceptionMode',
  'spec.rollout': 'RolloutSpec',
  'spec.compatibility': 'CompatibilitySpec',
  'spec.rollout.strategy': 'RolloutStrategy',
  status: 'SidecarPolicyStatus',
  'status.conditions[]': 'Condition',
  'status.conditions[].status': 'ConditionStatus',
};

// Shared shapes carry a description of their own (each use site's description is specific).
const sharedDescriptions: Record<string, string> = {
  LabelSelector:
    'A label query (the metav1.LabelSelector shape); matchLabels and matchExpressions are ANDed.',
  ResourceRequirements: 'Compute resources of a container (requests and limits, as resource quantities).',
  KeySelector: "A key of a ConfigMap or a Secret in the pod's namespace (the core/v1 key selector shape).",
};

// Leaves that are objects without a shape of their own.
const opaque = new Set(['metadata']);

const objectMeta = `/** The object metadata fields the operator reads; the API server sends more. */
export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  labels?: { [key: string]: string };
  annotations?: { [key: string]: string };
  finalizers?: string[];
  [key: string]: unknown;
}`;

/** True when the schema, or anything under it, declares a default. */
function hasDefaults(s: Schema): boolean {
  if (s.default !== undefined) return true;
  const children = [
    ...Object.values(s.properties ?? {}),
    ...(s.items ? [s.items] : []),
    ...(typeof s.additionalProperties === 'object' ? [s.additionalProperties] : []),
  ];
  return children.some(hasDefaults);
}

/** The schema without what only documents or validates (for comparing shared shapes). */
function shape(s: unknown): unknown {
  if (Array.isArray(s)) return s.map(shape);
  if (s === null || typeof s !== 'object') return s;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s)) {
    if (k === 'description' || k === 'default' || k === 'title') continue;
    out[k] = shape(v);
  }
  return out;
}

class TypeBuilder {
  readonly definitions: Record<string, Schema> = {};

  /** Converts a CRD schema node into a json-schema-to-typescript node; `resolved` marks defaulted fields required. */
  convert(s: Schema, path: string, resolved: boolean): Schema {
    const description = s.description;
    if (s['x-kubernetes-int-or-string'] === true) return { tsType: 'number | string', description };
    if (path === 'metadata') return { tsType: 'ObjectMeta' };
    const open = s['x-kubernetes-preserve-unknown-fields'] === true;
    if (opaque.has(path) || (open && !s.properties)) {
      return { tsType: '{ [key: string]: unknown }', description };
    }
    const name = names[path];
    if (s.enum) return this.define(name, path, { type: s.type, enum: s.enum }, resolved, s);
    if (s.type === 'array') {
      return { type: 'array', description, items: this.convert(s.items!, `${path}[]`, resolved) };
    }
    if (s.type !== 'object') return { type: s.type, description };
    if (!s.properties) {
      const values = s.additionalProperties;
      return {
        type: 'object',
        description,
        additionalProperties: typeof values === 'object' ? this.convert(values, `${path}{}`, resolved) : true,
      };
    }
    if (!name) throw new Error(`no type name for the object at "${path}": add it to names`);
    const properties: Record<string, Schema> = {};
    const required = new Set(s.required ?? []);
    for (const [key, child] of Object.entries(s.properties)) {
      properties[key] = this.convert(child, path ? `${path}.${key}` : key, resolved);
      if (resolved && child.default !== undefined) required.add(key);
    }
    // An open object with declared fields (a core/v1 shape passed through): the declared ones typed.
    const body: Schema = { type: 'object', properties, additionalProperties: open };
    if (required.size > 0) body.required = Object.keys(s.properties).filter((k) => required.has(k));
    return this.define(name, path, body, resolved, s);
  }

  private define(
    name: string | undefined,
    path: string,
    body: Schema,
    resolved: boolean,
    original: Schema,
  ): Schema {
    if (!name) throw new Error(`no type name for "${path}": add it to names`);
    const renamed = resolved && body.type === 'object' && hasDefaults(original) && path !== '';
    const typeName = renamed ? `Resolved${name}` : name;
    const shared = sharedDescriptions[name];
    const definition: Schema = { title: typeName, description: shared ?? original.description, ...body };
    const existing = this.definitions[typeName];
    if (existing && JSON.stringify(shape(existing)) !== JSON.stringify(shape(definition))) {
      throw new Error(`"${typeName}" names two different shapes (at "${path}")`);
    }
    this.definitions[typeName] ??= definition;
    // A sibling description would turn the reference into a new, numbered type.
    return { $ref: `#/definitions/${typeName}` };
  }
}

function loadSchema(): Schema {
  const crd = parse(readFileSync(crdPath, 'utf8')) as {
    spec: { versions: { name: string; schema: { openAPIV3Schema: Schema } }[] };
  };
  const v = crd.spec.versions.find((x) => x.name === version);
  if (!v) throw new Error(`${crdPath}: no version ${version}`);
  return v.schema.openAPIV3Schema;
}

async function generateTypes(schema: Schema): Promise<string> {
  const builder = new TypeBuilder();
  const top = builder.convert(schema, '', false);
  // The resolved spec (what withDefaults returns, what the API server stores) lands in the definitions.
  builder.convert(schema.properties!.spec!, 'spec', true);
  // The list is the document's root, so that every named type, SidecarPolicy included, is a definition.
  const document: Schema = {
    title: 'SidecarPolicyList',
    description: 'A list of SidecarPolicy objects.',
    type: 'object',
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: { tsType: '{ [key: string]: unknown }' },
      items: { type: 'array', items: top },
    },
    required: ['items'],
    additionalProperties: false,
    definitions: builder.definitions,
  };
  const ts = await compile(document as never, 'SidecarPolicyList', {
    bannerComment: '',
    additionalProperties: false,
    ignoreMinAndMaxItems: true,
    unreachableDefinitions: true,
    strictIndexSignatures: false,
    format: false,
    style: { singleQuote: true },
  });
  // The *Root aliases only make the generator emit their targets.
  return `${banner('sidecarpolicy')}\n${objectMeta}\n\n${ts}`;
}

interface DefaultingNode {
  default?: unknown;
  properties?: Record<string, DefaultingNode>;
  items?: DefaultingNode;
  additionalProperties?: DefaultingNode;
}

/** The part of the schema that defaulting needs: defaults and the paths leading to them. */
function defaultingTree(s: Schema): DefaultingNode | undefined {
  if (!hasDefaults(s)) return undefined;
  const node: DefaultingNode = {};
  if (s.default !== undefined) node.default = s.default;
  for (const [key, child] of Object.entries(s.properties ?? {})) {
    const sub = defaultingTree(child);
    if (sub) (node.properties ??= {})[key] = sub;
  }
  const items = s.items && defaultingTree(s.items);
  if (items) node.items = items;
  const values = typeof s.additionalProperties === 'object' && defaultingTree(s.additionalProperties);
  if (values) node.additionalProperties = values;
  return node;
}

/** Structural defaulting as the API server does it: absent fields take their default, then recurse. */
function applyDefaults(value: unknown, node: DefaultingNode): unknown {
  if (Array.isArray(value)) return node.items ? value.map((v) => applyDefaults(v, node.items!)) : value;
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    const v = out[key] ?? structuredClone(child.default);
    if (v !== undefined) out[key] = applyDefaults(v, child);
  }
  return out;
}

function generateDefaults(schema: Schema): string {
  const spec = schema.properties!.spec!;
  const tree = defaultingTree(spec)!;
  const defaults = applyDefaults({}, tree);
  return `${banner('defaults')}
import type { ResolvedSidecarPolicySpec } from './sidecarpolicy.js';

/** A node of the defaulting tree: a field's default, and the fields under it that have one. */
export interface DefaultingNode {
  default?: unknown;
  properties?: { [key: string]: DefaultingNode };
  items?: DefaultingNode;
  additionalProperties?: DefaultingNode;
}

/** Where the schema of spec declares defaults, in the shape of the schema. */
export const specDefaulting: DefaultingNode = ${JSON.stringify(tree)};

/** Every default of spec, applied to an empty spec (selector has none: it is required). */
export const specDefaults: Omit<ResolvedSidecarPolicySpec, 'selector'> = ${JSON.stringify(defaults)};
`;
}

function banner(what: string): string {
  return `// Code generated by hack/generate-api.ts from crds/sidecar.dev_sidecarpolicies.yaml (${what}).
// DO NOT EDIT: change the CRD and run \`make generate\`.
`;
}

/** Removes json-schema-to-typescript's "referenced by ... via the definition" notes, which name no real file. */
function dropReferenceNotes(source: string): string {
  return source
    .replace(/(\n \*)?\n \* This interface was referenced by [^\n]*\n \* via the `definition` [^\n]*/g, '')
    .replace(/\/\*\*\n \*\/\n/g, '');
}

async function write(file: string, source: string): Promise<void> {
  const config = (await prettier.resolveConfig(file)) ?? {};
  const formatted = dropReferenceNotes(await prettier.format(source, { ...config, filepath: file }));
  writeFileSync(file, formatted);
  console.log(`wrote ${file.slice(root.length + 1)}`);
}

const schema = loadSchema();
mkdirSync(outDir, { recursive: true });
await write(join(outDir, 'sidecarpolicy.ts'), await generateTypes(schema));
await write(join(outDir, 'defaults.ts'), generateDefaults(schema));
await write(
  join(outDir, 'spec-schema.ts'),
  `${banner('spec schema')}
/** The CRD's openAPIV3Schema of spec, as written there. */
export const specSchema: Record<string, unknown> = ${JSON.stringify(schema.properties?.spec)};
`,
);
