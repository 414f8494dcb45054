import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { parse, parseAllDocuments, stringify, type Document } from 'yaml';
import { API_VERSION, KIND } from '../../api/index.js';
import { compileTemplate, type CompiledTemplate, type PolicyInput } from '../../inject/index.js';
import { schemaProblem, type Schema } from '../../inject/validate.js';
import { injectObject, ObjectShapeError } from '../../inject/workloads.js';
import { CliError } from '../errors.js';
import { DEFAULT_INIT_IMAGE } from '../init-image.js';

interface InjectFlags {
  filename: string;
  policy: string;
  patch?: boolean;
  nativeSidecars: string;
  initImage: string;
  namespace: string;
  operatorNamespace: string;
}

const CRD_FILE = new URL('../../../crds/sidecar.dev_sidecarpolicies.yaml', import.meta.url);
const YAML_OUT = { lineWidth: 0, aliasDuplicateObjects: false } as const;

function readInput(file: string): string {
  try {
    return file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(`inject: cannot read ${file === '-' ? 'stdin' : file}: ${(err as Error).message}`);
  }
}

/** The CRD's schema for `spec`, so that offline policies are checked as the API server would. */
function specSchema(): Schema {
  const crd = parse(readFileSync(CRD_FILE, 'utf8')) as {
    spec: { versions: { schema: { openAPIV3Schema: { properties: { spec: Schema } } } }[] };
  };
  const spec = crd.spec.versions[0]?.schema.openAPIV3Schema.properties.spec;
  if (!spec) throw new CliError('inject: the SidecarPolicy CRD has no spec schema');
  return spec;
}

/** The one SidecarPolicy in the policy file, checked; errors name the document and the field. */
export function loadPolicy(file: string, text: string): PolicyInput {
  const docs = parseAllDocuments(text).filter((d) => d.contents !== null);
  const fail = (i: number, what: string): never => {
    throw new CliError(`inject: ${file}: document ${i}: ${what}`);
  };
  if (docs.length !== 1)
    fail(docs.length, `expected exactly one SidecarPolicy, found ${docs.length} documents`);
  const doc = docs[0]!;
  if (doc.errors.length > 0) fail(0, doc.errors[0]!.message.split('\n')[0]!);
  const policy = doc.toJS() as Record<string, unknown> | null;
  if (policy === null || typeof policy !== 'object' || Array.isArray(policy)) return fail(0, 'not an object');
  if (policy.apiVersion !== API_VERSION) fail(0, `apiVersion: must be ${API_VERSION}`);
  if (policy.kind !== KIND) fail(0, `kind: must be ${KIND}`);
  const name = (policy.metadata as { name?: unknown } | undefined)?.name;
  if (typeof name !== 'string' || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name)) {
    fail(0, 'metadata.name: required, a lowercase DNS name');
  }
  const problem = schemaProblem(policy.spec, specSchema(), 'spec');
  if (problem) fail(0, problem);
  return policy as unknown as PolicyInput;
}

function parseBool(flag: string, value: string): boolean {
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new CliError(`inject: ${flag}: must be true or false, not "${value}"`, 2);
}

function describeObject(obj: Record<string, unknown>): string {
  const name = (obj.metadata as { name?: unknown } | undefined)?.name;
  return `${String(obj.kind)}${typeof name === 'string' ? `/${name}` : ''}`;
}

type Ctx = Parameters<typeof injectObject>[2];

/** One document: its object (undefined when empty) and the engine's result (undefined: not a workload). */
function injectDocument(file: string, i: number, doc: Document, template: CompiledTemplate, ctx: Ctx) {
  const fail = (what: string): never => {
    throw new CliError(`inject: ${file}: document ${i}: ${what}`);
  };
  if (doc.errors.length > 0) fail(doc.errors[0]!.message.split('\n')[0]!);
  if (doc.contents === null) return undefined;
  const obj = doc.toJS() as unknown;
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return fail('not a Kubernetes object');
  const object = obj as Record<string, unknown>;
  try {
    return { object, result: injectObject(object, template, ctx) };
  } catch (err) {
    if (err instanceof ObjectShapeError) fail(`${describeObject(object)}: ${err.message}`);
    throw err;
  }
}

/** Inject every document of a manifest; returns stdout, and notes for stderr. */
export function injectManifest(
  file: string,
  text: string,
  template: CompiledTemplate,
  flags: Pick<InjectFlags, 'patch' | 'namespace' | 'operatorNamespace'>,
): { out: string; notes: string[] } {
  const yamlParts: string[] = [];
  const patches: unknown[] = [];
  const notes: string[] = [];
  const ctx = {
    defaultNamespace: flags.namespace,
    operatorNamespace: flags.operatorNamespace,
    reinject: true,
  };
  let from = 0;
  for (const [i, doc] of parseAllDocuments(text).entries()) {
    const source = text.slice(from, doc.range[2]).replace(/^---[^\n]*\n/, '');
    from = doc.range[2];
    const done = injectDocument(file, i, doc, template, ctx);
    if (!done) continue;
    const { object, result } = done;
    const label = `${file}: document ${i} (${describeObject(object)})`;
    if (result && !result.decision.inject) notes.push(`${label}: not injected: ${result.decision.message}`);
    for (const w of result?.warnings ?? []) notes.push(`${label}: ${w.reason}: ${w.message}`);
    const changed = result !== undefined && result.objectPatch.length > 0;
    if (flags.patch) {
      const name = (object.metadata as { name?: string } | undefined)?.name;
      if (changed) patches.push({ document: i, kind: object.kind, name, patch: result.objectPatch });
    } else {
      // Untouched documents are copied as written, comments included.
      yamlParts.push(changed ? stringify(result.object, YAML_OUT) : source);
    }
  }
  const out = flags.patch
    ? `${JSON.stringify(patches, null, 2)}\n`
    : `${yamlParts.map((p) => p.trimEnd()).join('\n---\n')}\n`;
  return { out, notes };
}

export function register(program: Command): void {
  program
    .command('inject')
    .description(
      'inject the sidecar into the Pods and pod templates (Deployment, StatefulSet, DaemonSet, ReplicaSet, ' +
        'Job, CronJob) of a manifest, offline; other objects pass through unchanged',
    )
    .requiredOption('-f, --filename <file>', 'manifest to inject (multi-document YAML), - for stdin')
    .requiredOption('--policy <file>', 'the SidecarPolicy to inject with (YAML)')
    .option('--patch', 'print the JSON Patch of each injected object instead of the manifest')
    .addOption(
      new Option(
        '--native-sidecars <bool>',
        'whether the target cluster runs native sidecars (≥ 1.29)',
      ).default('true'),
    )
    .option(
      '--init-image <image>',
      'image of sidecar-init when the policy sets no init.image (the operator’s, as `run` uses)',
      DEFAULT_INIT_IMAGE,
    )
    .option('-n, --namespace <ns>', 'namespace of objects that name none', 'default')
    .option('--operator-namespace <ns>', 'the operator’s namespace (never injected)', 'sidecar-system')
    .action((flags: InjectFlags) => {
      const nativeSidecars = parseBool('--native-sidecars', flags.nativeSidecars);
      const policy = loadPolicy(flags.policy, readInput(flags.policy));
      const template = compileTemplate(policy, { nativeSidecars, initImage: flags.initImage });
      const { out, notes } = injectManifest(
        flags.filename === '-' ? 'stdin' : flags.filename,
        readInput(flags.filename),
        template,
        flags,
      );
      for (const n of notes) process.stderr.write(`${n}\n`);
      process.stdout.write(out);
    });
}
