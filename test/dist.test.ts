import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppsV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminKubeConfig, envtest, testNamespace } from './support.js';

const ROOT = join(import.meta.dirname, '..');
const HOST = process.arch === 'arm64' ? 'linux-arm64' : 'linux-amd64';
const EXE = join(ROOT, 'release', `sidecar-operator-${HOST}`);

/**
 * A PATH with the executable under both its names, kubectl, and the machine's own directories, but
 * not node_modules/.bin: whatever `node` it finds (Node 20 here, or none) is not the one the
 * project pins.
 */
let bin: string;
let env: NodeJS.ProcessEnv;

function run(
  argv: string[],
  opts: { shell?: boolean } = {},
): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...opts,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr, ms: Date.now() - t0 }));
  });
}

beforeAll(() => {
  // Built once per content of its inputs (hack/dist/build.ts skips a current one): only this
  // machine's platform here; `make dist` builds every platform.
  const r = spawnSync(process.execPath, [join(ROOT, 'hack', 'dist', 'build.ts'), HOST], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (r.status !== 0) throw new Error(`hack/dist/build.ts failed: ${r.stdout}${r.stderr}`);
  bin = mkdtempSync(join(tmpdir(), 'sidecar-dist-'));
  symlinkSync(EXE, join(bin, 'sidecar-operator'));
  symlinkSync(EXE, join(bin, 'kubectl-sidecar'));
  symlinkSync(join(envtest().binaries.dir, 'kubectl'), join(bin, 'kubectl'));
  const path = [bin, ...(process.env.PATH ?? '').split(':').filter((d) => !d.includes('node_modules'))].join(
    ':',
  );
  env = { PATH: path, HOME: process.env.HOME, KUBECONFIG: envtest().adminKubeconfigPath };
  afterAll(() => rmSync(bin, { recursive: true, force: true }));
}, 900_000);

describe('the single-file executable', () => {
  it('runs without the pinned Node on PATH', async () => {
    const node = spawnSync('node', ['--version'], { env, encoding: 'utf8' });
    // Node 20 on this machine (or no node at all elsewhere): never the project's Node 24.
    expect(node.stdout ?? '').not.toMatch(/^v24\./);
    const res = await run(['sidecar-operator', 'version', '--client']);
    expect(res.stderr).toBe('');
    expect(res.stdout).toMatch(/^Client Version: \d+\.\d+\.\d+ \(SidecarPolicy v1alpha1\)\n$/);
  });

  it('injects a manifest offline, with the CRD schema it carries', async () => {
    const res = await run([
      'sidecar-operator',
      'inject',
      '-f',
      'examples/bookinfo-productpage.yaml',
      '--policy',
      'examples/bookinfo.yaml',
    ]);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('name: sidecar-proxy');
    expect(res.stdout).toContain('name: sidecar-init');
    // The schema check runs: a policy the CRD refuses is refused.
    const bad = await run([
      'sh',
      '-c',
      'sed \'s/mode: REDIRECT/mode: SIDEWAYS/\' examples/bookinfo.yaml > "$0" && sidecar-operator inject -f examples/bookinfo-productpage.yaml --policy "$0"',
      join(bin, 'bad-policy.yaml'),
    ]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('interception.mode');
  });

  it('shows doctor’s help, and says the demo needs a checkout', async () => {
    const help = await run(['sidecar-operator', 'doctor', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('-n, --namespace <namespace>');
    const demo = await run(['sidecar-operator', 'demo', '--exit']);
    expect(demo.code).toBe(1);
    expect(demo.stderr).toContain('the demo is not part of this build');
  });

  it('matches its line in SHA256SUMS', () => {
    const r = spawnSync('sha256sum', ['-c', '--ignore-missing', 'SHA256SUMS'], {
      cwd: join(ROOT, 'release'),
      encoding: 'utf8',
    });
    expect(r.stdout).toContain(`sidecar-operator-${HOST}: OK\n`);
    expect(r.status).toBe(0);
  });

  it('is a kubectl plugin under the name kubectl-sidecar', async () => {
    const res = await run(['kubectl', 'sidecar', 'version', '--client']);
    expect(res.stderr).toBe('');
    expect(res.stdout).toMatch(/^Client Version: /);
  });

  it('exits quietly when its reader stops early', async () => {
    const res = await run(['bash', '-c', 'set -o pipefail; sidecar-operator demo --help | head -1']);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^Usage: sidecar-operator demo/);
  });
});

describe('each command, loaded from the executable when it runs', () => {
  // The executable compiles a command's own file on first use, sharing commander and the CLI's
  // errors with its entry: a failure must read and exit as it does from the compiled tree.
  const cases: [string, string[]][] = [
    ['an argument error raised by the command', ['run', '--kubeconfig', '/nonexistent']],
    [
      'a CliError with its exit code',
      ['inject', '-f', '/nonexistent.yaml', '--policy', 'examples/bookinfo.yaml'],
    ],
    ["commander's own error", ['iptables', '--no-such-flag']],
    ['an invalid choice', ['doctor', '-o', 'sideways']],
  ];
  it.each(cases)('%s: the same message and exit code as the compiled tree', async (_what, argv) => {
    const exe = await run(['sidecar-operator', ...argv]);
    const tree = spawnSync(process.execPath, [join(ROOT, 'dist', 'cli', 'main.js'), ...argv], {
      cwd: ROOT,
      env,
      encoding: 'utf8',
    });
    expect(exe.code).not.toBe(0);
    expect({ code: exe.code, stderr: exe.stderr }).toEqual({ code: tree.status, stderr: tree.stderr });
  });

  it('runs every command it lists (each one’s help)', async () => {
    const help = await run(['sidecar-operator', '--help']);
    const commands = help.stdout.slice(help.stdout.indexOf('Commands:'));
    const names = [...commands.matchAll(/^ {2}([a-z-]+) /gm)].map((m) => m[1]!).filter((n) => n !== 'help');
    expect(names.length).toBeGreaterThan(8);
    for (const name of names) {
      const res = await run(['sidecar-operator', name, '--help']);
      expect({ name, code: res.code, stderr: res.stderr }).toEqual({ name, code: 0, stderr: '' });
      expect(res.stdout).toContain(`Usage: sidecar-operator ${name}`);
    }
  });
});

describe('version against a cluster', () => {
  let ns: string;
  beforeAll(async () => {
    ns = await testNamespace('version');
    await adminKubeConfig()
      .makeApiClient(AppsV1Api)
      .createNamespacedDeployment({
        namespace: ns,
        body: {
          metadata: {
            name: 'sidecar-operator',
            labels: { 'app.kubernetes.io/part-of': 'sidecar-operator', 'app.kubernetes.io/version': '0.0.9' },
          },
          spec: {
            replicas: 0,
            selector: { matchLabels: { app: 'op' } },
            template: {
              metadata: { labels: { app: 'op' } },
              spec: { containers: [{ name: 'operator', image: 'example.test/sidecar-operator:v0.0.9' }] },
            },
          },
        },
      });
  });

  it('prints the operator’s version and the API the CRD serves, and warns on skew', async () => {
    const res = await run(['kubectl', 'sidecar', 'version', '--operator-namespace', ns]);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain(
      `Operator Version: 0.0.9 (${ns}/sidecar-operator, example.test/sidecar-operator:v0.0.9)`,
    );
    expect(res.stdout).toContain('SidecarPolicy API: v1alpha1 served, v1alpha1 stored');
    expect(res.stderr).toMatch(/^WARNING: version skew: this client is \S+, operator \S+ runs 0\.0\.9/);
    const json = await run(['sidecar-operator', 'version', '--operator-namespace', ns, '-o', 'json']);
    expect(JSON.parse(json.stdout)).toMatchObject({
      operators: [{ namespace: ns, name: 'sidecar-operator', version: '0.0.9' }],
      crd: { served: ['v1alpha1'], storage: 'v1alpha1' },
    });
  });

  it('fails, after the client’s version, when the cluster cannot be reached', async () => {
    const res = await run(['sidecar-operator', 'version', '--kubeconfig', '/nonexistent']);
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/^Client Version: /);
    expect(res.stderr).toContain('version: cannot ask the cluster');
  });
});
