import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jsonpatch from 'fast-json-patch';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';

const root = join(import.meta.dirname, '..');
const main = join(root, 'dist', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'inject-cli-'));
const policyFile = join(root, 'src', 'inject', 'testdata', 'policies', 'mesh-default.yaml');

function run(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [main, 'inject', ...args], { input, encoding: 'utf8', cwd: root });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const pod = (name: string, extra = '') => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: apps
spec:
${extra}  containers:
    - name: app
      image: registry.example/app:1
      ports: [{containerPort: 8080}]
`;

const workloads = ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job'].map(
  (kind) => `apiVersion: ${kind === 'Job' ? 'batch/v1' : 'apps/v1'}
kind: ${kind}
metadata: {name: w-${kind.toLowerCase()}, namespace: apps}
spec:
  template:
    metadata: {labels: {app: w}}
    spec:
      containers: [{name: app, image: registry.example/app:1}]
`,
).concat(`apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly, namespace: apps}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers: [{name: report, image: registry.example/report:1}]
`);

const service = `apiVersion: v1
kind: Service
metadata:
  name: web   # kept as written
spec:
  ports: [{port: 80}]
`;

beforeAll(() => {
  // Other parts of the tree may be mid-change; what matters is that the CLI is (re)built.
  spawnSync(
    process.execPath,
    [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
    {
      cwd: root,
    },
  );
  expect(existsSync(main)).toBe(true);
}, 120_000);

describe('sidecar-operator inject', () => {
  it('reads stdin and writes the injected pod', () => {
    const r = run(['-f', '-', '--policy', policyFile], pod('web'));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = parse(r.stdout);
    expect(out.spec.initContainers.map((c: { name: string }) => c.name)).toEqual([
      'sidecar-init',
      'sidecar-proxy',
    ]);
    expect(out.spec.initContainers[0].args).toContain('8080');
    expect(out.metadata.labels['sidecar.dev/revision']).toMatch(/^[0-9a-f]{10}$/);
  });

  it('reads stdin from a pipe whose writer is slow to start', () => {
    const input = file('slow.yaml', pod('slow'));
    const r = spawnSync(
      'sh',
      [
        '-c',
        `(sleep 1; cat "${input}") | "${process.execPath}" "${main}" inject -f - --policy "${policyFile}"`,
      ],
      { encoding: 'utf8', cwd: root },
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(parse(r.stdout).spec.initContainers).toHaveLength(2);
  });

  it('streams: reads and injects each document of a pipe before the last one is written', async () => {
    const child = spawn(process.execPath, [main, 'inject', '-f', '-', '--policy', policyFile], { cwd: root });
    let stderr = '';
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    const noted = new Promise<void>((resolve) =>
      child.stderr.setEncoding('utf8').on('data', (c: string) => {
        stderr += c;
        if (stderr.includes('document 0 (ConfigMap/c)')) resolve();
      }),
    );
    child.stdin.write('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: "1"}\n---\n');
    // The note on the first document comes while stdin is still open: nothing more has been written.
    await noted;
    expect(stdout).toBe('');
    child.stdin.end(pod('last'));
    const [code] = (await once(child, 'exit')) as [number];
    expect(code).toBe(0);
    const docs = parseAllDocuments(stdout).map((d) => d.toJS() as { kind: string });
    expect(docs.map((d) => d.kind)).toEqual(['ConfigMap', 'Pod']);
    expect(stdout).toContain('sidecar-proxy');
  }, 60_000);

  it('writes nothing when a later document would be refused, however far the input went', () => {
    const istio = join(root, 'src', 'inject', 'testdata', 'policies', 'istio-compat.yaml');
    const meshed = (name: string, annotations = '{}') =>
      pod(name).replace(
        'namespace: apps',
        `namespace: apps\n  labels: {mesh: "on"}\n  annotations: ${annotations}`,
      );
    const manifest = [
      ...Array.from({ length: 50 }, (_, i) => meshed(`p${i}`)),
      meshed('bad', '{traffic.sidecar.istio.io/excludeInboundPorts: "*"}'),
    ].join('---\n');
    const r = run(['-f', '-', '--policy', istio], manifest);
    expect(r.stderr).toContain('document 50 (Pod/bad): refused');
    expect(r.stderr).toContain('nothing written');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
  });

  it('runs this release’s image as sidecar-init unless --init-image names another', () => {
    const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    const image = (args: string[]) =>
      parse(run(['-f', '-', '--policy', policyFile, ...args], pod('web')).stdout).spec.initContainers[0]
        .image;
    expect(image([])).toBe(`ghcr.io/sidecar-operator/sidecar-operator:v${version}`);
    expect(image(['--init-image', 'registry.example/so:v2'])).toBe('registry.example/so:v2');
  });

  it('injects every workload kind of a multi-document manifest and passes other kinds through', () => {
    const manifest = [pod('a'), service, ...workloads, pod('host', '  hostNetwork: true\n')].join('---\n');
    const r = run(['-f', file('multi.yaml', manifest), '--policy', policyFile, '--native-sidecars=false']);
    expect(r.code).toBe(0);
    const docs = parseAllDocuments(r.stdout).map((d) => d.toJS());
    expect(docs.map((d) => d.kind)).toEqual([
      'Pod',
      'Service',
      'Deployment',
      'StatefulSet',
      'DaemonSet',
      'ReplicaSet',
      'Job',
      'CronJob',
      'Pod',
    ]);
    const podSpecs = [
      docs[0].spec,
      ...docs.slice(2, 7).map((d) => d.spec.template.spec),
      docs[7].spec.jobTemplate.spec.template.spec,
    ];
    for (const spec of podSpecs) {
      // Classic mode: the proxy is a container (first, holding the app), the iptables init container first.
      expect(spec.containers[0].name).toBe('sidecar-proxy');
      expect(spec.initContainers[0].name).toBe('sidecar-init');
    }
    expect(r.stdout).toContain('name: web   # kept as written');
    expect(docs[8].spec.containers).toHaveLength(1);
    expect(r.stderr).toContain('document 8 (Pod/host): not injected: HostNetwork: pod uses the host network');
    expect(r.stderr).toContain('document 1 (Service/web): passed through: Service has no pod template');
  });

  it('keeps what kubectl reads (YAML 1.1), accepts a trailing ---, injects Lists and any pod template', () => {
    const manifest = `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ReplicationController
  metadata: {name: rc, namespace: apps}
  spec:
    template:
      metadata:
        annotations: {enabled: "yes", window: "1:20"}
      spec:
        containers: [{name: app, image: registry.example/app:1}]
        volumes: [{name: tls, secret: {secretName: tls, defaultMode: 0644}}]
---
apiVersion: apps.openshift.io/v1
kind: DeploymentConfig
metadata: {name: dc, namespace: apps}
spec:
  template:
    spec:
      containers: [{name: app, image: registry.example/app:1}]
---
`;
    const r = run(['-f', file('list.yaml', manifest), '--policy', policyFile]);
    expect(r.stderr).toContain('list.yaml: document 2: passed through: empty');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('annotations: {enabled: "yes", window: "1:20", sidecar.dev/status: ');
    expect(r.stdout).toContain('defaultMode: 0644');
    const [list, dc] = parseAllDocuments(r.stdout, { version: '1.1' }).map((d) => d.toJS());
    const rc = list.items[0].spec.template;
    expect(rc.spec.volumes[0].secret.defaultMode).toBe(420);
    expect(rc.metadata.annotations.enabled).toBe('yes');
    expect(rc.spec.initContainers.map((c: { name: string }) => c.name)).toEqual([
      'sidecar-init',
      'sidecar-proxy',
    ]);
    expect(dc.spec.template.spec.initContainers).toHaveLength(2);
    expect(run(['-f', '-', '--policy', policyFile], r.stdout).stdout).toBe(r.stdout);
  });

  it('leaves a pod another mesh injected as it is and says why', () => {
    const meshed = pod('meshed').replace(
      '  containers:\n',
      '  initContainers: [{name: istio-init, image: istio/proxyv2}]\n  containers:\n    - {name: istio-proxy, image: istio/proxyv2}\n',
    );
    const r = run(['-f', '-', '--policy', policyFile], meshed);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(meshed);
    expect(r.stderr).toBe(
      'stdin: document 0 (Pod/meshed): not injected: AlreadyMeshed: pod already carries another mesh’s sidecar (Istio: istio-init, istio-proxy); a second would capture the same traffic twice (--uninject removes it)\n',
    );
  });

  it('is idempotent: injecting its own output changes nothing', () => {
    const first = run(['-f', '-', '--policy', policyFile], [pod('a'), ...workloads].join('---\n'));
    const second = run(['-f', '-', '--policy', policyFile], first.stdout);
    expect(second.code).toBe(0);
    expect(second.stdout).toBe(first.stdout);
    expect(run(['-f', '-', '--policy', policyFile, '--patch'], first.stdout).stdout).toBe('[]\n');
  });

  it('--patch prints JSON Patches that turn each object into its injected form', () => {
    const manifest = [pod('a'), service, workloads[0]!].join('---\n');
    const injected = parseAllDocuments(run(['-f', '-', '--policy', policyFile], manifest).stdout).map((d) =>
      d.toJS(),
    );
    const r = run(['-f', '-', '--policy', policyFile, '--patch'], manifest);
    expect(r.code).toBe(0);
    const patches = JSON.parse(r.stdout) as {
      document: number;
      kind: string;
      patch: jsonpatch.Operation[];
    }[];
    expect(patches.map((p) => [p.document, p.kind])).toEqual([
      [0, 'Pod'],
      [2, 'Deployment'],
    ]);
    const inputs = parseAllDocuments(manifest).map((d) => d.toJS());
    for (const p of patches) {
      expect(jsonpatch.validate(p.patch, inputs[p.document])).toBeUndefined();
      expect(jsonpatch.applyPatch(inputs[p.document], p.patch).newDocument).toEqual(injected[p.document]);
    }
    expect(patches[1]!.patch.every((op) => op.path.startsWith('/spec/template/'))).toBe(true);
  });

  it.each([
    ['bad YAML', 'kind: Pod\nspec: [\n', /^sidecar-operator: inject: stdin: document 0: .+/],
    [
      'a pod without container names',
      pod('ok') + '---\nkind: Pod\nspec: {containers: [{}]}\n',
      /document 1: Pod: spec\.containers\[0\]\.name: required/,
    ],
  ])('refuses %s with one line naming the document', (_what, input, message) => {
    const r = run(['-f', '-', '--policy', policyFile], input);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it.each([
    ['proxy:\n    uid: -5', 'document 0: spec.proxy.uid: must be at least 0'],
    [
      'interception:\n    mode: NAT',
      'document 0: spec.interception.mode: must be one of "REDIRECT", "TPROXY", "None"',
    ],
    [
      'injection:\n    allowedOverrides: [proxyDisk]',
      'document 0: spec.injection.allowedOverrides[0]: must be one of',
    ],
    ['proxi: {}', 'document 0: spec.proxi: unknown field'],
  ])('refuses an invalid policy (%s) naming the field', (fragment, message) => {
    const bad = file(
      'bad-policy.yaml',
      `apiVersion: sidecar.dev/v1alpha1\nkind: SidecarPolicy\nmetadata: {name: bad}\nspec:\n  selector: {namespaces: [apps]}\n  ${fragment}\n`,
    );
    const r = run(['-f', '-', '--policy', bad], pod('a'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`bad-policy.yaml: ${message}`);
    expect(r.stdout).toBe('');
  });

  it('--uninject takes the sidecar out again, and needs no policy', () => {
    const injected = run(['-f', '-', '--policy', policyFile], pod('web')).stdout;
    const r = run(['-f', '-', '--uninject'], injected);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(
      'stdin: document 0 (Pod/web): removed sidecar-operator (sidecar-init, sidecar-proxy)\n',
    );
    expect(parse(r.stdout, { version: '1.1' })).toEqual(parse(pod('web'), { version: '1.1' }));
    expect(run(['-f', '-', '--uninject', '--policy', policyFile], injected).code).toBe(2);
    expect(run(['-f', '-'], injected).stderr).toContain("required option '--policy <file>' not specified");
  });

  it('refuses a bad --native-sidecars value and a missing file', () => {
    expect(run(['-f', '-', '--policy', policyFile, '--native-sidecars=maybe'], pod('a')).code).toBe(2);
    const missing = run(['-f', join(dir, 'nope.yaml'), '--policy', policyFile]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('cannot read');
  });
});
