import { createReadStream, readFileSync } from 'node:fs';
import { text } from 'node:stream/consumers';
import { Command, Option } from 'commander';
import { compileTemplate, type CompiledTemplate, type PolicyInput } from '../../inject/index.js';
import { CliError } from '../errors.js';
import { DEFAULT_INIT_IMAGE } from '../../operator/version.js';
import { readPolicyFile } from '../manifest/policy-file.js';
import { ManifestInjector } from '../manifest/inject-manifest.js';
import { OutputSpool } from '../manifest/output-spool.js';

interface InjectFlags {
  filename: string;
  policy?: string;
  uninject?: boolean;
  patch?: boolean;
  nativeSidecars: string;
  initImage: string;
  namespace: string;
  namespaceLabels?: string;
  operatorNamespace: string;
}

/** `k=v,k2=v2` as a label map; `""` is a namespace with no labels of its own. */
export function parseNamespaceLabels(value: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of value.split(',').filter((s) => s.trim() !== '')) {
    const eq = pair.indexOf('=');
    const key = pair.slice(0, eq).trim();
    if (eq < 0 || key === '') throw new CliError(`inject: --namespace-labels: "${pair}" is not key=value`, 2);
    out[key] = pair.slice(eq + 1).trim();
  }
  return out;
}

/** Whether the policy selects namespaces by their labels, which only --namespace-labels can tell. */
function selectsByLabels(template: CompiledTemplate): boolean {
  return (
    template.selector.namespaceSelector !== undefined ||
    template.compatibility?.istio.namespaceLabels === true
  );
}

/**
 * The file, or stdin for `-`. Stdin is read as a stream: a synchronous read of a pipe whose writer
 * has not written yet fails with EAGAIN (`helm template … | sidecar-operator inject -f -`).
 */
async function readInput(file: string): Promise<string> {
  try {
    return file === '-' ? await text(process.stdin) : readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(`inject: cannot read ${file === '-' ? 'stdin' : file}: ${(err as Error).message}`);
  }
}

/**
 * The manifest as a stream of text, one piece at a time (the file, or stdin for `-`): documents are
 * injected as they arrive, and the output is held back until the end (see OutputSpool).
 */
async function* inputStream(file: string): AsyncGenerator<string> {
  const stream = file === '-' ? process.stdin : createReadStream(file);
  stream.setEncoding('utf8');
  try {
    for await (const chunk of stream) yield chunk as string;
  } catch (err) {
    throw new CliError(`inject: cannot read ${file === '-' ? 'stdin' : file}: ${(err as Error).message}`);
  }
}

/** The one SidecarPolicy in the policy file, checked; errors name the document and the field. */
export function loadPolicy(file: string, text: string): PolicyInput {
  const read = readPolicyFile(text);
  if (read.policy === undefined)
    throw new CliError(`inject: ${file}: document ${read.document}: ${read.problems.join('; ')}`);
  return read.policy;
}

function parseBool(flag: string, value: string): boolean {
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new CliError(`inject: ${flag}: must be true or false, not "${value}"`, 2);
}

export function register(program: Command): void {
  program
    .command('inject')
    .description(
      'inject the sidecar into the Pods and pod templates (spec.template: Deployment, StatefulSet, ' +
        'DaemonSet, ReplicaSet, ReplicationController, Job, DeploymentConfig, Rollout, …; ' +
        'spec.jobTemplate.spec.template: CronJob) of a manifest and of its Lists, offline; other ' +
        'objects pass through unchanged, each with a note on stderr',
    )
    .requiredOption('-f, --filename <file>', 'manifest to inject (multi-document YAML), - for stdin')
    .option('--policy <file>', 'the SidecarPolicy to inject with (YAML); required unless --uninject')
    .option(
      '--uninject',
      'remove the sidecars instead: ours (any policy) and Istio’s, with the probes and annotations Istio rewrote',
    )
    .option('--patch', 'print the JSON Patch of each changed object instead of the manifest')
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
    .option(
      '--namespace-labels <k=v,...>',
      'labels of the namespace the objects go to: check the policy’s namespace selection (namespaces, namespaceSelector, Istio’s labels) as the controller would',
    )
    .option('--operator-namespace <ns>', 'the operator’s namespace (never injected)', 'sidecar-system')
    .action(async (flags: InjectFlags) => {
      const nativeSidecars = parseBool('--native-sidecars', flags.nativeSidecars);
      if (flags.uninject && flags.policy !== undefined)
        throw new CliError('inject: --uninject removes sidecars and takes no --policy', 2);
      if (!flags.uninject && flags.policy === undefined)
        throw new CliError("inject: required option '--policy <file>' not specified", 2);
      const template =
        flags.policy === undefined
          ? undefined
          : compileTemplate(loadPolicy(flags.policy, await readInput(flags.policy)), {
              nativeSidecars,
              initImage: flags.initImage,
            });
      const namespaceLabels =
        flags.namespaceLabels === undefined ? undefined : parseNamespaceLabels(flags.namespaceLabels);
      if (template && namespaceLabels === undefined && selectsByLabels(template))
        process.stderr.write(
          `inject: policy ${template.policy} selects namespaces by their labels, which a manifest does not carry: namespace selection not checked (pass --namespace-labels to check it)\n`,
        );
      const spool = new OutputSpool();
      const injector = new ManifestInjector(
        flags.filename === '-' ? 'stdin' : flags.filename,
        template,
        { ...flags, namespaceLabels },
        { write: (t) => spool.write(t), note: (n) => process.stderr.write(`${n}\n`) },
      );
      try {
        for await (const chunk of inputStream(flags.filename)) injector.push(chunk);
        injector.end();
      } catch (err) {
        spool.discard();
        throw err;
      }
      if (injector.refused.length > 0) {
        spool.discard();
        throw new CliError(
          `inject: the webhook would refuse the pods of ${injector.refused.join(', ')} (see above); nothing written`,
        );
      }
      await spool.drainTo(process.stdout);
    });
}
