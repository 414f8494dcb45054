import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import {
  API_VERSION,
  FINALIZER,
  KIND,
  POLICY_LABEL,
  policyPath,
  REVISION_ANNOTATION,
  type SidecarPolicy,
} from '../src/api/index.js';
import { DEFAULT_INIT_IMAGE } from '../src/operator/config.js';
import { addFinalizer } from '../src/controllers/policy/finalizer.js';
import { applyObject, jsonPatch, loadKubeConfig, requestJson } from '../src/kube/index.js';
import type { CompiledTemplate } from '../src/inject/index.js';
import {
  INJECTOR_TEMPLATE_SELECTOR,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  renderInjectorTemplate,
} from '../src/render/injector-configmap.js';
import { renderWebhookConfiguration } from '../src/render/webhook-configuration.js';
import { adminKubeConfig, envtest, eventually, testNamespace } from './support.js';

const ROOT = join(import.meta.dirname, '..');
const CHART = join(ROOT, 'charts', 'sidecar-operator');
const MAIN = join(ROOT, 'dist', 'cli', 'main.js');
const id = randomBytes(3).toString('hex');
const RELEASE = `so-${id}`;
const NS = `helm-${id}`;
const FULLNAME = `${RELEASE}-sidecar-operator`;
const CLUSTER_NAME = `${FULLNAME}-${NS}`;
const HOOK = `${FULLNAME}-uninstall`;
const POLICY = `helm-test-${id}`;
/** Kinds whose CRDs (cert-manager, prometheus-operator) the offline API server does not have. */
const FOREIGN_KINDS = new Set(['Certificate', 'Issuer', 'ServiceMonitor', 'PrometheusRule']);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], input?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

async function must(cmd: string, args: string[], input?: string): Promise<string> {
  const r = await run(cmd, args, input);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

const helm = (...args: string[]): Promise<Run> =>
  run(envtest().binaries.helm, [...args, '--kubeconfig', envtest().adminKubeconfigPath]);
const kubectl = (args: string[], input?: string, kubeconfig = envtest().adminKubeconfigPath) =>
  run('kubectl', ['--kubeconfig', kubeconfig, ...args], input);
const cli = (args: string[], kubeconfig: string) =>
  run(process.execPath, [MAIN, 'uninstall', '--kubeconfig', kubeconfig, ...args]);

type Doc = {
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: Record<string, unknown>;
  [k: string]: unknown;
};

function docs(yaml: string): Doc[] {
  return parseAllDocuments(yaml)
    .map((d) => d.toJS() as Doc | null)
    .filter((d): d is Doc => d !== null);
}

const valueFiles = readdirSync(join(CHART, 'ci')).map((f) => join(CHART, 'ci', f));
const valueSets: [string, string[]][] = [
  ['default values', []],
  ...valueFiles.map((f): [string, string[]] => [f.split('/').pop()!, ['--values', f]]),
];

let work: string;
let dryRunNs: string;

/** A kubeconfig authenticating as a ServiceAccount, with a token from the TokenRequest API. */
async function serviceAccountKubeconfig(ns: string, sa: string): Promise<string> {
  const token = (
    await must('kubectl', ['--kubeconfig', envtest().adminKubeconfigPath, 'create', 'token', sa, '-n', ns])
  ).trim();
  const ca = /certificate-authority-data: (\S+)/.exec(envtest().adminKubeconfig)![1]!;
  const path = join(work, `${sa}.kubeconfig`);
  writeFileSync(
    path,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        { name: 'envtest', cluster: { server: envtest().server, 'certificate-authority-data': ca } },
      ],
      users: [{ name: sa, user: { token } }],
      contexts: [{ name: sa, context: { cluster: 'envtest', user: sa } }],
      'current-context': sa,
    }),
  );
  return path;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'helm-test-'));
  dryRunNs = await testNamespace('helm-dry');
  // The test runs the real CLI, as the hook does.
  await must(process.execPath, [
    join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
    '-p',
    'tsconfig.build.json',
  ]);
  if (!existsSync(MAIN)) throw new Error(`build did not produce ${MAIN}`);
}, 300_000);

afterAll(async () => {
  await helm('uninstall', RELEASE, '-n', NS, '--no-hooks', '--ignore-not-found');
  const selector = `app.kubernetes.io/instance=${RELEASE}`;
  await kubectl(['delete', 'clusterrole,clusterrolebinding', '-l', selector, '--ignore-not-found']);
  await kubectl(['delete', 'mutatingwebhookconfiguration', POLICY, '--ignore-not-found']);
  await kubectl(['patch', 'sidecarpolicy', POLICY, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
  await kubectl(['delete', 'sidecarpolicy', POLICY, '--ignore-not-found']);
  await kubectl(['delete', 'namespace', NS, '--ignore-not-found', '--wait=false']);
  rmSync(work, { recursive: true, force: true });
});

describe('chart', () => {
  it('has appVersion = package.json version and the CRDs of crds/', () => {
    const chart = readFileSync(join(CHART, 'Chart.yaml'), 'utf8');
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(/^appVersion: "?([^"\n]+)"?$/m.exec(chart)?.[1]).toBe(pkg.version);
    const crds = readdirSync(join(ROOT, 'crds')).sort();
    expect(readdirSync(join(CHART, 'crds')).sort()).toEqual(crds);
    for (const f of crds) {
      expect(readFileSync(join(CHART, 'crds', f), 'utf8'), f).toBe(
        readFileSync(join(ROOT, 'crds', f), 'utf8'),
      );
    }
  });

  it.each(valueSets)('helm lint --strict is clean with %s', async (_, args) => {
    const r = await helm('lint', '--strict', CHART, ...args);
    expect(r.stderr + r.stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
    expect(r.code).toBe(0);
  });

  it.each(valueSets)('helm template with %s passes a server-side dry-run apply', async (label, args) => {
    const out = await helm('template', RELEASE, CHART, '--namespace', dryRunNs, ...args);
    expect(out.code, out.stderr).toBe(0);
    const all = docs(out.stdout);
    const ours = all.filter((d) => !FOREIGN_KINDS.has(d.kind));
    const foreign = all.filter((d) => FOREIGN_KINDS.has(d.kind));
    for (const d of foreign) expect(d.apiVersion).toMatch(/^(cert-manager\.io|monitoring\.coreos\.com)\/v1$/);
    if (label.startsWith('cert-manager'))
      expect(foreign.map((d) => d.kind).sort()).toEqual(['Certificate', 'Certificate', 'Issuer', 'Issuer']);
    if (label.startsWith('every-option'))
      expect(foreign.map((d) => d.kind).sort()).toEqual(['Certificate', 'PrometheusRule', 'ServiceMonitor']);
    if (label === 'default values') expect(foreign).toEqual([]);
    // No webhook configuration ever comes from the chart: the operator owns them.
    expect(all.map((d) => d.kind)).not.toContain('MutatingWebhookConfiguration');
    const applied = await kubectl(
      ['apply', '--server-side', '--dry-run=server', '--field-manager=helm-test', '-f', '-'],
      ours.map((d) => stringify(d)).join('---\n'),
    );
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout.trim().split('\n')).toHaveLength(ours.length);
  });

  it('passes the image the Deployment runs as --init-image, the default of injected init containers', async () => {
    const initImage = async (...set: string[]): Promise<{ image: string; args: string[] }> => {
      const dep = docs((await helm('template', RELEASE, CHART, '-n', NS, ...set)).stdout).find(
        (d) => d.kind === 'Deployment',
      )!;
      return (dep.spec!.template as { spec: { containers: { image: string; args: string[] }[] } }).spec
        .containers[0]!;
    };
    const byDefault = await initImage();
    expect(byDefault.image).toBe(DEFAULT_INIT_IMAGE);
    expect(byDefault.args).toContain(`--init-image=${byDefault.image}`);
    const pinned = await initImage(
      '--set',
      'image.repository=registry.example/so',
      '--set',
      'image.tag=v2.3.4',
    );
    expect(pinned.image).toBe('registry.example/so:v2.3.4');
    expect(pinned.args).toContain('--init-image=registry.example/so:v2.3.4');
  });

  it('sizes Node for the container: the old generation from the memory limit, the semi-space, malloc arenas', async () => {
    const runtime = async (...set: string[]): Promise<Record<string, string>> => {
      const dep = docs((await helm('template', RELEASE, CHART, '-n', NS, ...set)).stdout).find(
        (d) => d.kind === 'Deployment',
      )!;
      const env = (
        dep.spec!.template as { spec: { containers: { env: { name: string; value?: string }[] }[] } }
      ).spec.containers[0]!.env;
      return Object.fromEntries(
        env
          .filter((e) => e.name === 'NODE_OPTIONS' || e.name === 'MALLOC_ARENA_MAX')
          .map((e) => [e.name, e.value!]),
      );
    };
    // 256Mi by default: three quarters of it.
    expect(await runtime()).toEqual({
      NODE_OPTIONS: '--max-old-space-size=192 --max-semi-space-size=1',
      MALLOC_ARENA_MAX: '2',
    });
    expect((await runtime('--set', 'resources.limits.memory=1Gi')).NODE_OPTIONS).toBe(
      '--max-old-space-size=768 --max-semi-space-size=1',
    );
    // A limit in another unit is not guessed at; an explicit size wins; extra options are appended.
    expect((await runtime('--set', 'resources.limits.memory=300M')).NODE_OPTIONS).toBe(
      '--max-semi-space-size=1',
    );
    expect(
      (await runtime('--set', 'runtime.maxOldSpaceMiB=100', '--set', 'runtime.nodeOptions=--trace-gc'))
        .NODE_OPTIONS,
    ).toBe('--max-old-space-size=100 --max-semi-space-size=1 --trace-gc');
    // All off: Node's own defaults, nothing set.
    expect(
      await runtime(
        '--set',
        'runtime.maxOldSpaceMiB=0',
        '--set',
        'runtime.maxSemiSpaceMiB=0',
        '--set',
        'runtime.mallocArenaMax=0',
      ),
    ).toEqual({});
  });

  it('mounts the webhook client CA and passes its file and names only when webhook.clientAuth is set', async () => {
    type PodSpec = {
      containers: { args: string[]; volumeMounts: { name: string; mountPath: string }[] }[];
      volumes: { name: string; secret?: { secretName: string } }[];
    };
    const spec = async (...set: string[]): Promise<PodSpec> =>
      (
        docs((await helm('template', RELEASE, CHART, '-n', NS, ...set)).stdout).find(
          (d) => d.kind === 'Deployment',
        )!.spec!.template as { spec: PodSpec }
      ).spec;
    const off = await spec();
    expect(off.containers[0]!.args.filter((a) => a.startsWith('--webhook-client'))).toEqual([]);
    expect(off.containers[0]!.args).toContain('--admission-events-unauthenticated=false');
    expect(off.volumes.map((v) => v.name)).not.toContain('webhook-client-ca');
    const on = await spec(
      '--set',
      'webhook.clientAuth.caSecret=apiserver-ca',
      '--set',
      'webhook.clientAuth.commonNames={a,b}',
    );
    const c = on.containers[0]!;
    expect(c.args).toContain('--webhook-client-ca=/etc/sidecar-operator/webhook-client/ca.crt');
    expect(c.args).toContain('--webhook-client-names=a,b');
    expect(c.volumeMounts).toContainEqual(
      expect.objectContaining({
        name: 'webhook-client-ca',
        mountPath: '/etc/sidecar-operator/webhook-client',
      }),
    );
    expect(on.volumes).toContainEqual(
      expect.objectContaining({
        name: 'webhook-client-ca',
        secret: expect.objectContaining({ secretName: 'apiserver-ca' }),
      }),
    );
  });

  it('renders an HA Deployment by default and a single replica without election when HA is off', async () => {
    const ha = docs((await helm('template', RELEASE, CHART, '-n', NS)).stdout);
    const dep = ha.find((d) => d.kind === 'Deployment')!;
    const pod = (dep.spec!.template as { spec: Record<string, any> }).spec; // eslint-disable-line @typescript-eslint/no-explicit-any
    const c = pod.containers[0];
    expect(dep.spec!.replicas).toBe(2);
    expect(c.args).toContain('--leader-elect=true');
    // Plain HTTP on a port of its own: the HTTPS port has no certificate until one is issued.
    expect(c.readinessProbe.httpGet).toMatchObject({ path: '/readyz', port: 'probes', scheme: 'HTTP' });
    expect(c.livenessProbe.httpGet).toMatchObject({ path: '/healthz', port: 'probes', scheme: 'HTTP' });
    expect(c.args).toContain('--metrics-port=8080');
    expect(c.securityContext).toMatchObject({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(c.resources.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
    expect(c.env).toContainEqual({
      name: 'POD_NAMESPACE',
      valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } },
    });
    expect(
      pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm
        .topologyKey,
    ).toBe('kubernetes.io/hostname');
    expect(ha.find((d) => d.kind === 'PodDisruptionBudget')?.spec).toMatchObject({ minAvailable: 1 });
    const svc = ha.find((d) => d.kind === 'Service')!;
    expect(svc.spec!.ports).toEqual([{ name: 'https', port: 443, targetPort: 'https', protocol: 'TCP' }]);

    const single = docs(
      (await helm('template', RELEASE, CHART, '-n', NS, '-f', join(CHART, 'ci', 'ha-off-values.yaml')))
        .stdout,
    );
    expect(single.find((d) => d.kind === 'Deployment')!.spec!.replicas).toBe(1);
    expect(JSON.stringify(single)).toContain('--leader-elect=false');
    expect(single.map((d) => d.kind)).not.toContain('PodDisruptionBudget');
    // Without election there is no Lease to grant.
    const role = single.find((d) => d.kind === 'Role' && d.metadata.name === FULLNAME)!;
    expect(JSON.stringify(role)).not.toContain('leases');
  });

  it.each([
    ['replicaCount', 'replicaCount=0', 'minimum: got 0, want 1'],
    ['replicaCount', 'replicaCount="two"', 'got string, want integer'],
    ['logging.format', 'logging.format="xml"', 'value must be one of'],
    ['certificates.source', 'certificates.source="vault"', 'value must be one of'],
    ['webhook.port', 'webhook.port=80', 'minimum: got 80, want 1'],
    ['image.pullPolicy', 'image.pullPolicy="Sometimes"', 'value must be one of'],
    ['podDisruptionBudget.enabled', 'podDisruptionBudget.enabled="yes"', 'got string, want boolean'],
    ['replicas', 'replicas=3', "additional properties 'replicas' not allowed"],
    ['uninstall.timeoutSeconds', 'uninstall.timeoutSeconds=-1', 'minimum: got -1, want 0'],
  ])('values.schema.json rejects a wrong %s (%s)', async (field, set, why) => {
    const r = await helm('template', RELEASE, CHART, '-n', NS, '--set-json', set);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("values don't meet the specifications of the schema");
    if (field !== 'replicas') expect(r.stderr).toContain(`'/${field.replaceAll('.', '/')}'`);
    expect(r.stderr).toContain(why);
  });
});

describe('release', () => {
  let operatorKubeconfig: string;

  it('helm install creates every object (no webhook configuration, no hook objects)', async () => {
    const r = await helm('install', RELEASE, CHART, '-n', NS, '--create-namespace', '--wait=false');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('kubectl get sp');
    const expected = docs((await helm('get', 'manifest', RELEASE, '-n', NS)).stdout);
    expect(expected.map((d) => d.kind).sort()).toEqual(
      [
        'ClusterRole',
        // For scrapers of /metrics (metrics.auth=kubernetes), bound to nobody by default.
        'ClusterRole',
        'ClusterRoleBinding',
        'Deployment',
        // No webhook.clientAuth: only the control plane may reach the webhook port.
        'NetworkPolicy',
        'PodDisruptionBudget',
        'Role',
        'RoleBinding',
        'Service',
        'ServiceAccount',
        // The policy guard and the operator guard: the API server has ValidatingAdmissionPolicy
        // (Kubernetes 1.30+).
        'ValidatingAdmissionPolicy',
        'ValidatingAdmissionPolicy',
        'ValidatingAdmissionPolicyBinding',
        'ValidatingAdmissionPolicyBinding',
        // The admission check's guard: the operator's pod creates are dry runs only.
        'ValidatingAdmissionPolicy',
        'ValidatingAdmissionPolicyBinding',
      ].sort(),
    );
    for (const d of expected) {
      const ns = d.metadata.namespace ? ['-n', d.metadata.namespace] : [];
      const got = await kubectl(['get', d.kind.toLowerCase(), d.metadata.name, ...ns]);
      expect(got.code, `${d.kind} ${d.metadata.name}: ${got.stderr}`).toBe(0);
    }
    const hookSa = await kubectl(['get', 'serviceaccount', HOOK, '-n', NS]);
    expect(hookSa.code).not.toBe(0);
  });

  it('helm upgrade with a changed value rolls the Deployment', async () => {
    const r = await helm(
      'upgrade',
      RELEASE,
      CHART,
      '-n',
      NS,
      '--reuse-values',
      '--set',
      'logging.level=debug',
      '--wait=false',
    );
    expect(r.code, r.stderr).toBe(0);
    const args = await must('kubectl', [
      '--kubeconfig',
      envtest().adminKubeconfigPath,
      'get',
      'deployment',
      FULLNAME,
      '-n',
      NS,
      '-o',
      'jsonpath={.spec.template.spec.containers[0].args}',
    ]);
    expect(args).toContain('--log-level=debug');
    const history = await must(envtest().binaries.helm, [
      'history',
      RELEASE,
      '-n',
      NS,
      '-o',
      'json',
      '--kubeconfig',
      envtest().adminKubeconfigPath,
    ]);
    expect((JSON.parse(history) as { status: string }[]).map((h) => h.status)).toEqual([
      'superseded',
      'deployed',
    ]);
  });

  describe('RBAC of the operator ServiceAccount', () => {
    beforeAll(async () => {
      operatorKubeconfig = await serviceAccountKubeconfig(NS, FULLNAME);
    });

    const canI = async (args: string[]): Promise<boolean> => {
      const r = await kubectl(['auth', 'can-i', ...args], undefined, operatorKubeconfig);
      if (r.stdout.trim() !== 'yes' && r.stdout.trim() !== 'no')
        throw new Error(`can-i ${args.join(' ')}: ${r.stderr}`);
      return r.stdout.trim() === 'yes';
    };

    it.each(
      [
        // reconcile: policies, finalizer, status
        ['get', 'sidecarpolicies.sidecar.dev'],
        ['list', 'sidecarpolicies.sidecar.dev'],
        ['watch', 'sidecarpolicies.sidecar.dev'],
        ['patch', 'sidecarpolicies.sidecar.dev'],
        ['patch', 'sidecarpolicies.sidecar.dev', '--subresource=status'],
        // reconcile: webhook configurations (server-side apply = create + patch)
        ...['get', 'list', 'watch', 'create', 'patch', 'delete'].map((v) => [
          v,
          'mutatingwebhookconfigurations.admissionregistration.k8s.io',
        ]),
        // reconcile: namespace marks, pod counts, events
        ...['list', 'watch', 'patch'].map((v) => [v, 'namespaces']),
        ['list', 'pods', '--all-namespaces'],
        ['watch', 'pods', '--all-namespaces'],
        // admission check: a representative injected pod created with dryRun=All (a guard
        // refuses the operator any create that is not a dry run)
        ['create', 'pods', '-n', 'bookinfo'],
        // /metrics (metrics.auth=kubernetes): the scraper's token reviewed by the API server
        ['create', 'tokenreviews.authentication.k8s.io'],
        ['create', 'subjectaccessreviews.authorization.k8s.io'],
        // events: the leader's on policies (in default), the webhook's on pods' owners anywhere,
        // patched to bump an aggregated Event's count
        ...['create', 'patch'].flatMap((v) => [
          [v, 'events', '-n', 'default'],
          [v, 'events', '-n', 'bookinfo'],
        ]),
        // own namespace: injector template ConfigMaps, one per policy found by label (leader writes and
        // deletes, every replica watches), certificate Secret, Lease
        ...['get', 'list', 'watch', 'create', 'patch', 'delete'].map((v) => [v, 'configmaps', '-n', NS]),
        ['create', 'secrets', '-n', NS],
        ...['get', 'list', 'watch', 'update'].map((v) => [v, 'secrets/sidecar-operator-certs', '-n', NS]),
        ['create', 'leases.coordination.k8s.io', '-n', NS],
        ...['get', 'patch'].map((v) => [v, 'leases.coordination.k8s.io/sidecar-operator-leader', '-n', NS]),
      ].map((a) => [a.join(' '), a]),
    )('may %s', async (_, args) => {
      expect(await canI(args)).toBe(true);
    });

    it.each(
      [
        ['list', 'secrets', '--all-namespaces'],
        ['get', 'secrets', '-n', 'kube-system'],
        ['get', 'secrets/sidecar-operator-certs', '-n', 'default'],
        ['get', 'secrets/other', '-n', NS],
        ['patch', 'pods', '-n', 'bookinfo'],
        ['get', 'pods', '-n', 'bookinfo'],
        ['update', 'configmaps/other', '-n', NS],
        ['list', 'configmaps', '-n', 'default'],
        // In its own namespace only its own objects, by name: not Helm's release Secrets.
        ['list', 'secrets', '-n', NS],
        ['get', 'secrets/sh.helm.release.v1.x.v1', '-n', NS],
        ['patch', 'leases.coordination.k8s.io/other', '-n', NS],
        // Taken, renewed and released by JSON Patch only: a PUT could re-create a deleted Lease.
        ['update', 'leases.coordination.k8s.io/sidecar-operator-leader', '-n', NS],
        ['delete', 'namespaces'],
        // Nothing reads one namespace, the ConfigMap or a policy's status by GET, nor PUTs status.
        ['get', 'namespaces'],
        ['update', 'sidecarpolicies.sidecar.dev', '--subresource=status'],
        ['create', 'namespaces'],
        // Rollout restarts only with rollout.enabled (off by default).
        ...['deployments', 'statefulsets', 'daemonsets'].flatMap((r) =>
          ['get', 'patch'].map((v) => [v, `${r}.apps`, '-n', 'bookinfo']),
        ),
        ['get', 'replicasets.apps', '-n', 'bookinfo'],
        // The metrics-reader ClusterRole is for scrapers, not bound to the operator.
        ['get', '/metrics'],
        ['create', 'deployments.apps', '-n', 'bookinfo'],
        ['delete', 'deployments.apps', '-n', 'bookinfo'],
        ['update', 'statefulsets.apps', '-n', 'bookinfo'],
        ['patch', 'replicasets.apps', '-n', 'bookinfo'],
        ['delete', 'sidecarpolicies.sidecar.dev'],
        // Webhook configurations do not block their policy's deletion, so no finalizers right.
        ['update', 'sidecarpolicies.sidecar.dev', '--subresource=finalizers'],
        ['create', 'validatingwebhookconfigurations.admissionregistration.k8s.io'],
        ['*', '*'],
      ].map((a) => [a.join(' '), a]),
    )('may not %s', async (_, args) => {
      expect(await canI(args)).toBe(false);
    });

    it('is refused (403) listing Secrets cluster-wide, writing Pods and reading Secrets elsewhere', async () => {
      const kc = operatorKubeconfig;
      const listAll = await kubectl(['get', 'secrets', '--all-namespaces'], undefined, kc);
      expect(listAll.code).not.toBe(0);
      expect(listAll.stderr).toMatch(/Forbidden|forbidden/);
      const pod = stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'x', namespace: dryRunNs },
        spec: { containers: [{ name: 'c', image: 'busybox' }] },
      });
      const createPod = await kubectl(['create', '-f', '-'], pod, kc);
      expect(createPod.stderr).toMatch(/forbidden/);
      // RBAC lets it create pods for the admission check; the guard keeps that to dry runs.
      expect(createPod.stderr).toMatch(/only as dry runs/);
      const dryRun = await kubectl(['create', '--dry-run=server', '-f', '-'], pod, kc);
      expect(dryRun.code, dryRun.stderr).toBe(0);
      const listOwn = await kubectl(['get', 'secrets', '-n', NS], undefined, kc);
      expect(listOwn.stderr).toMatch(/forbidden/);
      const readOther = await kubectl(['get', 'secret', 'anything', '-n', dryRunNs], undefined, kc);
      expect(readOther.stderr).toMatch(/forbidden/);
      expect(readOther.stderr).not.toMatch(/NotFound/);
    });

    it('runs the operator’s writes: injector ConfigMap, webhook configuration, namespace mark, finalizer, Lease, Event', async () => {
      const kc = loadKubeConfig({ kubeconfig: operatorKubeconfig });
      const admin = adminKubeConfig();
      const template = { policy: POLICY, revision: 'r1', proxyContainer: {}, volumes: [] };
      await applyObject(kc, renderInjectorTemplate(NS, template as unknown as CompiledTemplate), {
        force: true,
      });
      // The replicas' watches select the templates by label, the Secret by name (resourceNames).
      for (const [resource, query, count] of [
        ['configmaps', { labelSelector: INJECTOR_TEMPLATE_SELECTOR }, 1],
        ['secrets', { fieldSelector: 'metadata.name=sidecar-operator-certs' }, 0],
      ] as const) {
        const list = await requestJson<{ items: unknown[] }>(kc, {
          path: `/api/v1/namespaces/${NS}/${resource}`,
          query: { ...query, watch: false },
        });
        expect(list.items, resource).toHaveLength(count);
      }
      const policy = await requestJson<SidecarPolicy>(admin, {
        method: 'POST',
        path: policyPath(),
        body: {
          apiVersion: API_VERSION,
          kind: KIND,
          metadata: { name: POLICY },
          spec: { selector: { namespaces: [dryRunNs] } },
        },
      });
      const withFinalizer = await addFinalizer(
        kc,
        await requestJson<SidecarPolicy>(kc, { path: policyPath(POLICY) }),
      );
      expect(withFinalizer.metadata?.finalizers).toContain(FINALIZER);
      const mwc = renderWebhookConfiguration(policy, {
        caBundle: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
        target: { service: { namespace: NS, name: FULLNAME } },
        operatorNamespace: NS,
      });
      // Fail closed and pointing at nothing that runs: exactly what an uninstall must not leave behind.
      const applied = await applyObject(kc, mwc, { force: true });
      expect(applied.metadata?.labels?.[MANAGED_BY_LABEL]).toBe(MANAGED_BY);
      await jsonPatch(kc, `/api/v1/namespaces/${dryRunNs}`, [
        { op: 'add', path: `/metadata/labels/${POLICY_LABEL.replace('/', '~1')}`, value: POLICY },
        { op: 'add', path: `/metadata/annotations`, value: { [REVISION_ANNOTATION]: 'r1' } },
      ]);
      await requestJson(kc, {
        path: `/api/v1/namespaces/${dryRunNs}/pods`,
        query: { labelSelector: 'sidecar.dev/revision' },
      });
      await requestJson(kc, {
        method: 'POST',
        path: `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases`,
        body: {
          metadata: { name: 'sidecar-operator-leader' },
          spec: { holderIdentity: 'test', leaseDurationSeconds: 15 },
        },
      });
      await requestJson(kc, {
        method: 'POST',
        path: '/api/v1/namespaces/default/events',
        body: {
          metadata: { generateName: `${POLICY}.` },
          involvedObject: { apiVersion: API_VERSION, kind: KIND, name: POLICY, uid: policy.metadata?.uid },
          reason: 'Test',
          message: 'rbac check',
          type: 'Normal',
        },
      });
    });
  });

  it('the pre-delete cleanup, run with the hook’s own identity, leaves nothing of the operator', async () => {
    // The hook's ServiceAccount and RBAC exactly as the chart renders them (hooks are not installed
    // with the release; helm creates them just before the Job).
    const rendered = docs(
      (await helm('template', RELEASE, CHART, '-n', NS, '--show-only', 'templates/uninstall-hook.yaml'))
        .stdout,
    );
    const rbac = rendered.filter((d) => d.kind !== 'Job');
    expect(rbac.map((d) => d.kind).sort()).toEqual([
      'ClusterRole',
      'ClusterRoleBinding',
      'Role',
      'RoleBinding',
      'ServiceAccount',
    ]);
    expect((await kubectl(['apply', '-f', '-'], rbac.map((d) => stringify(d)).join('---\n'))).code).toBe(0);
    const job = rendered.find((d) => d.kind === 'Job')!;
    const jobArgs = (job.spec!.template as { spec: { containers: { args: string[] }[] } }).spec.containers[0]!
      .args;
    expect(jobArgs[0]).toBe('uninstall');
    const hookKc = await serviceAccountKubeconfig(NS, HOOK);

    const core = adminKubeConfig().makeApiClient(CoreV1Api);
    await core.createNamespacedSecret({
      namespace: NS,
      body: { metadata: { name: 'sidecar-operator-certs' }, stringData: { x: 'y' } },
    });
    // The hook scales the operator down first: wait until its ReplicaSets have created pods (they stay
    // Pending: no scheduler, no kubelet).
    await eventually(
      async () => {
        const d = await must('kubectl', [
          '--kubeconfig',
          envtest().adminKubeconfigPath,
          'get',
          'deployment',
          FULLNAME,
          '-n',
          NS,
          '-o',
          'jsonpath={.status.replicas}',
        ]);
        return Number(d) > 0 ? true : undefined;
      },
      { what: 'operator pods created', timeoutMs: 60_000 },
    );

    // Scoped to this test's policy: other suites share the API server.
    const r = await cli([...jobArgs.slice(1), '--timeout=60', '--policy', POLICY], hookKc);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toContain(`scaled deployment ${NS}/${FULLNAME} to 0 replicas`);
    expect(r.stdout).toContain(`deleted mutatingwebhookconfiguration ${POLICY}`);
    expect(r.stdout).toContain(`unmarked namespace ${dryRunNs}`);
    expect(r.stdout).toContain(`removed finalizer ${FINALIZER} from sidecarpolicy ${POLICY}`);
    expect(r.stdout).toContain(`deleted configmap ${NS}/sidecar-injector-${POLICY}`);

    // hook-delete-policy hook-succeeded: helm removes the hook's objects once the Job succeeded.
    const hookGone = await kubectl(['delete', '-f', '-'], rbac.map((d) => stringify(d)).join('---\n'));
    expect(hookGone.code, hookGone.stderr).toBe(0);
    const uninstalled = await helm('uninstall', RELEASE, '-n', NS, '--no-hooks');
    expect(uninstalled.code, uninstalled.stderr).toBe(0);

    const gone = async (args: string[]) => {
      const got = await kubectl(['get', ...args, '--ignore-not-found', '-o', 'name']);
      expect(got.code, got.stderr).toBe(0);
      expect(got.stdout.trim(), args.join(' ')).toBe('');
    };
    await gone(['mutatingwebhookconfiguration', POLICY]);
    await gone([
      'configmap,secret,lease,deployment,service,role,rolebinding,serviceaccount,pdb',
      '-n',
      NS,
      '-l',
      `app.kubernetes.io/instance=${RELEASE}`,
    ]);
    await gone([
      `configmap/sidecar-injector-${POLICY}`,
      'secret/sidecar-operator-certs',
      'lease/sidecar-operator-leader',
      '-n',
      NS,
    ]);
    await gone(['clusterrole,clusterrolebinding', CLUSTER_NAME]);
    const ns = await core.readNamespace({ name: dryRunNs });
    expect(ns.metadata?.labels?.[POLICY_LABEL]).toBeUndefined();
    expect(ns.metadata?.annotations?.[REVISION_ANNOTATION]).toBeUndefined();
    const p = await requestJson<SidecarPolicy>(adminKubeConfig(), { path: policyPath(POLICY) });
    expect(p.metadata?.finalizers ?? []).not.toContain(FINALIZER);

    // Idempotent: a second run finds nothing and succeeds.
    const again = await cli(
      ['--namespace', NS, '--delete-configmap', '--delete-secret=sidecar-operator-certs', '--policy', POLICY],
      envtest().adminKubeconfigPath,
    );
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(`no injector template configmaps in ${NS}`);
    expect(again.stdout).toContain('no mutatingwebhookconfigurations labelled');
  });
});
