import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminKubeConfig, envtest } from './support.js';

const ROOT = join(import.meta.dirname, '..');
const MAIN = join(ROOT, 'dist', 'cli', 'main.js');

/** Every command line in the README's `sh` code blocks (comments dropped). */
export function readmeCommands(markdown: string): string[] {
  const out: string[] = [];
  for (const block of markdown.matchAll(/```(?:sh|bash|shell)\n([\s\S]*?)```/g)) {
    for (const raw of block[1]!.split('\n')) {
      const line = raw
        .replace(/^\$ /, '')
        .replace(/\s+#.*$/, '')
        .trim();
      if (line !== '' && !line.startsWith('#')) out.push(line);
    }
  }
  return out;
}

/**
 * Commands that need a cluster of their own, or a long run: the test that exercises each, and a
 * string that test must contain (so a renamed or deleted test fails this mapping too).
 */
const COVERED_ELSEWHERE: { command: RegExp; test: string; contains: string }[] = [
  { command: /^make demo$/, test: 'test/demo.test.ts', contains: "'demo', '--exit'" },
  { command: /^make test$/, test: 'vitest.config.ts', contains: "include: ['test/**/*.test.ts']" },
  {
    command: /^helm install sidecar-operator charts\/sidecar-operator -n sidecar-system --create-namespace$/,
    test: 'test/helm.test.ts',
    contains: "helm('install', RELEASE, CHART, '-n', NS, '--create-namespace'",
  },
  // The demo creates namespace bookinfo and applies both examples, on its own control plane.
  {
    command: /^kubectl create namespace bookinfo$/,
    test: 'src/dev/demo/run-demo.ts',
    contains: "const NAMESPACE = 'bookinfo'",
  },
  {
    command: /^kubectl apply -f examples\/bookinfo\.yaml$/,
    test: 'src/dev/demo/run-demo.ts',
    contains: "readDocs('examples/bookinfo.yaml')",
  },
  {
    command: /^kubectl apply -f examples\/bookinfo-productpage\.yaml$/,
    test: 'src/dev/demo/run-demo.ts',
    contains: "readDocs('examples/bookinfo-productpage.yaml')",
  },
  // The single-file executable: built, put on PATH and run as a kubectl plugin by test/dist.test.ts.
  {
    command: /^make dist$/,
    test: 'test/dist.test.ts',
    contains: "join(ROOT, 'hack', 'dist', 'build.ts'), HOST]",
  },
  {
    command: /^export PATH=\$PWD\/release\/bin:\$PATH$/,
    test: 'test/dist.test.ts',
    contains: "symlinkSync(EXE, join(bin, 'kubectl-sidecar'));",
  },
  {
    command: /^kubectl sidecar version --client$/,
    test: 'test/dist.test.ts',
    contains: "run(['kubectl', 'sidecar', 'version', '--client'])",
  },
  {
    command: /^sidecar-operator doctor --namespace \S+$/,
    test: 'test/doctor.test.ts',
    contains: "'--namespace',",
  },
  {
    command: /^sidecar-operator doctor --namespace \S+ --pod \S+$/,
    test: 'test/doctor.test.ts',
    contains: "doctor('--pod', 'injected')",
  },
  {
    command: /^sidecar-operator migrate --policy \S+$/,
    test: 'test/migrate-cli.test.ts',
    contains: "    'migrate',\n    '--kubeconfig',\n    envtest().adminKubeconfigPath,\n    '--policy',",
  },
  {
    command: /^sidecar-operator doctor --output json$/,
    test: 'test/doctor.test.ts',
    contains: "doctorArgs('--output', 'json'",
  },
];

/** Commands safe to run here: the CLI offline, and read-only kubectl against the test API server. */
const RUN_HERE: { command: RegExp; check: (stdout: string) => void; stderr?: RegExp }[] = [
  {
    command: /^sidecar-operator iptables --dry-run /,
    check: (out) => expect(out).toContain('-A SIDECAR_INBOUND -p tcp --dport 9080 -j SIDECAR_IN_REDIRECT'),
  },
  {
    command:
      /^sidecar-operator inject -f examples\/bookinfo-productpage\.yaml --policy examples\/bookinfo\.yaml$/,
    check: (out) => {
      expect(out).toContain('name: sidecar-proxy');
      expect(out).toContain('name: sidecar-init');
    },
    // inject accounts on stderr for every document it did not inject (the file's Service).
    stderr:
      /^examples\/bookinfo-productpage\.yaml: document 0 \(Service\/productpage\): passed through: Service has no pod template\n$/,
  },
  {
    command:
      /^sidecar-operator proxy-config bootstrap --policy examples\/bookinfo\.yaml -f examples\/bookinfo-productpage\.yaml$/,
    check: (out) => {
      expect(out).toContain('name: outbound');
      expect(out).toContain('prefix_rewrite: /ready');
    },
    // A Deployment's pods are named when they are created: said on stderr.
    stderr: /^proxy-config: \{\{ podName \}\} is known only once the pod exists: left as is\n$/,
  },
  {
    command: /^sidecar-operator version --client$/,
    check: (out) => expect(out).toMatch(/^Client Version: \d+\.\d+\.\d+ \(SidecarPolicy v1alpha1\)\n$/),
  },
  {
    command: /^kubectl get sp$/,
    check: (out) => expect(out === '' || /^NAME\s+READY/m.test(out)).toBe(true),
  },
  {
    command: /^kubectl get ns -l sidecar\.dev\/policy -o 'custom-columns=/,
    // A governed namespace as the operator marks it (beforeAll): the label and the annotation.
    check: (out) => {
      expect(out).toMatch(/^NAMESPACE\s+POLICY\s+REVISION$/m);
      expect(out).toMatch(new RegExp(`^${MARKED}\\s+readme-policy\\s+0123456789$`, 'm'));
    },
  },
];

const MARKED = `readme-${process.pid}`;

function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/**
 * A README line as argv: our CLI through the built entry point, kubectl against the test API server.
 * Words are split on spaces; single quotes around a word are the shell's, and go.
 */
function argvOf(line: string): string[] {
  const words = line.split(/\s+/).map((w) => w.replace(/^'(.*)'$/, '$1'));
  if (words[0] === 'sidecar-operator') return [process.execPath, MAIN, ...words.slice(1)];
  if (words[0] === 'kubectl')
    return ['kubectl', '--kubeconfig', envtest().adminKubeconfigPath, ...words.slice(1)];
  throw new Error(`no way to run: ${line}`);
}

const commands = readmeCommands(readFileSync(join(ROOT, 'README.md'), 'utf8'));

beforeAll(async () => {
  const core = adminKubeConfig().makeApiClient(CoreV1Api);
  await core.createNamespace({
    body: {
      metadata: {
        name: MARKED,
        labels: { 'sidecar.dev/policy': 'readme-policy' },
        annotations: { 'sidecar.dev/revision': '0123456789' },
      },
    },
  });
  afterAll(() => core.deleteNamespace({ name: MARKED }).then(() => undefined));
  const build = await run([
    process.execPath,
    join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
    '-p',
    'tsconfig.build.json',
  ]);
  if (!existsSync(MAIN)) throw new Error(`build did not produce ${MAIN}: ${build.stdout}${build.stderr}`);
}, 300_000);

describe('README.md commands', () => {
  it('finds the commands (the extraction itself works)', () => {
    expect(commands).toContain('make demo');
    expect(commands).toContain('kubectl get sp');
    expect(commands.length).toBeGreaterThanOrEqual(10);
  });

  it('maps every command to a run here or to the test that covers it', () => {
    const unmapped = commands.filter(
      (c) => !RUN_HERE.some((r) => r.command.test(c)) && !COVERED_ELSEWHERE.some((m) => m.command.test(c)),
    );
    expect(unmapped).toEqual([]);
  });

  it('each mapping names an existing test that still does what the README says', () => {
    for (const m of COVERED_ELSEWHERE) {
      expect(
        commands.some((c) => m.command.test(c)),
        `README no longer has ${m.command}`,
      ).toBe(true);
      expect(readFileSync(join(ROOT, m.test), 'utf8'), `${m.test} for ${m.command}`).toContain(m.contains);
    }
  });

  for (const r of RUN_HERE) {
    it(`runs ${r.command.source}`, async () => {
      const lines = commands.filter((c) => r.command.test(c));
      expect(lines.length, 'README has this command').toBeGreaterThan(0);
      for (const line of lines) {
        const res = await run(argvOf(line));
        // kubectl says so on stderr when a list is empty.
        expect(res.stderr).toMatch(r.stderr ?? /^(No resources found\n)?$/);
        expect(res.code).toBe(0);
        r.check(res.stdout);
      }
    });
  }

  it('shows the top-level help with every command', async () => {
    const res = await run([process.execPath, MAIN, '--help']);
    expect(res.code).toBe(0);
    for (const cmd of ['run', 'inject', 'iptables', 'doctor', 'demo', 'uninstall', 'version'])
      expect(res.stdout).toMatch(new RegExp(`^  ${cmd}\\b`, 'm'));
    for (const cmd of ['doctor', 'demo']) {
      const help = await run([process.execPath, MAIN, cmd, '--help']);
      expect(help.stdout).toContain('Examples:');
    }
  });
});
