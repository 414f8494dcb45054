import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { compileTemplate, injectPod, type Pod } from '../src/inject/index.js';
import { adminKubeConfig, envtest, testNamespace } from './support.js';

const root = join(import.meta.dirname, '..');
const main = join(root, 'dist', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'proxy-config-cli-'));

function run(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [main, ...args], {
    encoding: 'utf8',
    cwd: root,
    env: { PATH: process.env.PATH ?? '', ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

type Any = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('sidecar-operator proxy-config bootstrap, offline', () => {
  it('prints only YAML on stdout: the bootstrap a bookinfo pod gets', () => {
    const r = run([
      'proxy-config',
      'bootstrap',
      '--policy',
      'examples/bookinfo.yaml',
      '-f',
      'examples/bookinfo-productpage.yaml',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const doc = parse(r.stdout) as Any;
    expect(doc.node.cluster).toBe('bookinfo');
    expect(doc.static_resources.listeners.map((l: Any) => l.name)).toEqual([
      'outbound',
      'inbound',
      'health',
      'metrics',
    ]);
    // A Deployment's pod is named when it is created: said on stderr, left in the output.
    expect(doc.node.id).toBe('{{ podName }}.bookinfo');
    expect(r.stderr).toContain('{{ podName }} is known only once the pod exists');
  });

  it('resolves a named pod, with IPv6 on request', () => {
    const pod = join(dir, 'pod.yaml');
    writeFileSync(
      pod,
      stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'web-0', namespace: 'shop' },
        spec: { containers: [{ name: 'web', image: 'web:1' }] },
      }),
    );
    const r = run(['proxy-config', 'bootstrap', '--policy', 'examples/minimal.yaml', '-f', pod, '--ipv6']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const doc = parse(r.stdout) as Any;
    expect(doc.node.id).toBe('web-0.shop');
    expect(doc.static_resources.listeners[0].additional_addresses[0].address.socket_address.address).toBe(
      '::',
    );
  });

  it('fails with one line for a policy whose proxy configures itself, and for a pod it skips', () => {
    const policy = join(dir, 'none.yaml');
    writeFileSync(
      policy,
      stringify({
        apiVersion: 'sidecar.dev/v1alpha1',
        kind: 'SidecarPolicy',
        metadata: { name: 'none' },
        spec: { selector: { namespaces: ['a'] }, proxy: { bootstrap: { mode: 'None' } } },
      }),
    );
    const none = run(['proxy-config', 'bootstrap', '--policy', policy]);
    expect(none.code).toBe(1);
    expect(none.stdout).toBe('');
    expect(none.stderr).toMatch(/bootstrap mode None/);
    const skipped = run([
      'proxy-config',
      'bootstrap',
      '--policy',
      'examples/native-sidecar.yaml',
      '-f',
      'examples/bookinfo-productpage.yaml',
    ]);
    expect(skipped.code).toBe(1);
    expect(skipped.stderr).toMatch(/not injected: .*podSelector/);
    expect(run(['proxy-config', 'bootstrap']).code).toBe(2);
  });
});

describe('sidecar-operator proxy-config write (sidecar-init without interception)', () => {
  it('writes the file its environment names, with the pod’s name filled in', () => {
    const template = compileTemplate(
      { metadata: { name: 'p' }, spec: { selector: { namespaces: ['a'] }, interception: { mode: 'None' } } },
      { nativeSidecars: true, initImage: 'init:1' },
    );
    const file = join(dir, 'envoy.yaml');
    const r = run(['proxy-config', 'write', '--no-ipv6'], {
      SIDECAR_PROXY_CONFIG_FILE: file,
      SIDECAR_PROXY_CONFIG: template.proxyConfig!.content.None!,
      POD_NAME: 'plain-0',
      POD_NAMESPACE: 'a',
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^wrote ${file} \\(\\d+ bytes\\)\\n$`));
    expect((parse(readFileSync(file, 'utf8')) as Any).node.id).toBe('plain-0.a');
    expect(run(['proxy-config', 'write']).stderr).toMatch(/SIDECAR_PROXY_CONFIG_FILE is not set/);
  });
});

describe('sidecar-operator proxy-config bootstrap --pod', () => {
  it('reads the configuration from the pod in the cluster, as its sidecar-init writes it', async () => {
    const ns = await testNamespace('proxy-config');
    const template = compileTemplate(
      { metadata: { name: 'p' }, spec: { selector: { namespaces: [ns] } } },
      { nativeSidecars: true, initImage: 'init:1' },
    );
    const pod: Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web-0', namespace: ns },
      spec: { containers: [{ name: 'web', image: 'web:1' }] },
    };
    const injected = injectPod(pod, template, { namespace: ns, operatorNamespace: 'sidecar-system' }).pod;
    const core = adminKubeConfig().makeApiClient(CoreV1Api);
    await core.createNamespacedPod({ namespace: ns, body: injected as never });
    const r = run([
      'proxy-config',
      'bootstrap',
      '--pod',
      'web-0',
      '-n',
      ns,
      '--kubeconfig',
      envtest().adminKubeconfigPath,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const doc = parse(r.stdout) as Any;
    expect(doc.node).toMatchObject({ id: `web-0.${ns}`, cluster: ns });
    // Unscheduled (envtest has no kubelet): no address yet, so no IPv6.
    expect(doc.static_resources.listeners[0].additional_addresses).toBeUndefined();
    const missing = run([
      'proxy-config',
      'bootstrap',
      '--pod',
      'nope',
      '-n',
      ns,
      '--kubeconfig',
      envtest().adminKubeconfigPath,
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`pod nope not found in namespace ${ns}`);
  });
});
