import type { Command } from 'commander';
import { stringify } from 'yaml';
import { VERSION } from '../../api/index.js';
import { version } from '../../operator/version.js';
import { CliError } from '../errors.js';
import { addClusterOptions, operatorNamespaceOption, outputOption } from '../flags.js';
import { formatVersion, operatorVersion, skewWarnings, type VersionInfo } from '../version-report.js';

interface VersionFlags {
  client?: boolean;
  kubeconfig?: string;
  context?: string;
  operatorNamespace?: string;
  output: 'text' | 'json' | 'yaml';
}

interface Deployment {
  metadata: { namespace?: string; name?: string; labels?: Record<string, string> };
  spec?: { template?: { spec?: { containers?: { name: string; image?: string }[] } } };
}

interface Crd {
  metadata: { name?: string };
  spec: { versions: { name: string; served: boolean; storage: boolean }[] };
}

const CRD = 'sidecarpolicies.sidecar.dev';
const PART_OF = 'app.kubernetes.io/part-of=sidecar-operator';

/** The operator's Deployments and the CRD, read from the cluster (the Kubernetes client loads only here). */
async function ask(flags: VersionFlags, info: VersionInfo): Promise<void> {
  const { isNotFound, loadKubeConfig, requestJson, apiFailure } = await import('../../kube/index.js');
  let kc;
  try {
    kc = loadKubeConfig({ kubeconfig: flags.kubeconfig, context: flags.context });
  } catch (err) {
    info.unreachable = (err as Error).message;
    return;
  }
  try {
    const path = flags.operatorNamespace
      ? `/apis/apps/v1/namespaces/${flags.operatorNamespace}/deployments`
      : '/apis/apps/v1/deployments';
    const list = await requestJson<{ items: Deployment[] }>(kc, { path, query: { labelSelector: PART_OF } });
    info.operators = list.items.map((d) => {
      const containers = d.spec?.template?.spec?.containers ?? [];
      const image = (containers.find((c) => c.name === 'operator') ?? containers[0])?.image;
      return {
        namespace: d.metadata.namespace ?? '',
        name: d.metadata.name ?? '',
        version: operatorVersion(d.metadata.labels, image),
        ...(image ? { image } : {}),
      };
    });
    try {
      const crd = await requestJson<Crd>(kc, {
        path: `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${CRD}`,
      });
      const storage = crd.spec.versions.find((v) => v.storage)?.name;
      info.crd = {
        name: CRD,
        served: crd.spec.versions.filter((v) => v.served).map((v) => v.name),
        ...(storage ? { storage } : {}),
      };
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  } catch (err) {
    const f = apiFailure(err);
    info.unreachable = `${f.code ? `${f.code} ` : ''}${f.message}`;
  } finally {
    await kc.closeConnections();
  }
}

const EXAMPLES = `
Prints this client's version, the operator's (its Deployment's app.kubernetes.io/version label, else
its image tag) and the SidecarPolicy versions the cluster serves, and warns on stderr when they
differ from this client's.

Examples:
  $ sidecar-operator version
  $ sidecar-operator version --client
  $ sidecar-operator version -o json
`;

export function register(program: Command): void {
  const cmd = program
    .command('version')
    .description('print the client’s version, the operator’s and the API the cluster serves')
    .option('--client', 'the client’s version only; the cluster is not contacted');
  addClusterOptions(cmd)
    .addOption(operatorNamespaceOption('look for the operator only here (default: every namespace)'))
    .addOption(outputOption(['text', 'json', 'yaml'], 'text'))
    .addHelpText('after', EXAMPLES)
    .action(async (flags: VersionFlags) => {
      const info: VersionInfo = { client: { version, apiVersion: VERSION } };
      if (!flags.client) await ask(flags, info);
      const warnings = flags.client || info.unreachable !== undefined ? [] : skewWarnings(info);
      const data = { ...info, ...(warnings.length > 0 ? { warnings } : {}) };
      process.stdout.write(
        flags.output === 'json'
          ? `${JSON.stringify(data, null, 2)}\n`
          : flags.output === 'yaml'
            ? stringify(data)
            : formatVersion(info, flags.client === true),
      );
      for (const w of warnings) process.stderr.write(`WARNING: ${w}\n`);
      if (info.unreachable !== undefined)
        throw new CliError(`version: cannot ask the cluster: ${info.unreachable}`);
    });
}
