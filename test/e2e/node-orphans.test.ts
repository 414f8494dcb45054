// Killing the process that started a node (SIGKILL: no handler runs) leaves nothing behind: no
// kubelet, containerd, shim or container process, no mount, bridge, cgroup or iptables chain.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { eventually } from '../../src/dev/envtest/eventually.js';
import { buildImages, ROOT } from './support.js';

const alive = (pid: number): boolean => {
  try {
    const state = /^State:\s+(\S)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return state !== undefined && state !== 'Z';
  } catch {
    return false;
  }
};

/** Everything of a node that could outlive it, as observed from outside. */
function leftovers(dir: string): string[] {
  const found: string[] = [];
  const procs = spawnSync(
    'pgrep',
    ['-a', '-f', 'kubelet|containerd|kube-proxy|kube-scheduler|/fixture|/pause'],
    { encoding: 'utf8' },
  ).stdout;
  for (const line of procs.split('\n').filter(Boolean)) {
    if (!line.includes('pgrep')) found.push(`process: ${line}`);
  }
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.includes(dir) || l.includes('/sidecar-node/'));
  found.push(...mounts.map((m) => `mount: ${m}`));
  if (spawnSync('ip', ['link', 'show', 'sidecar-br0']).status === 0) found.push('bridge sidecar-br0');
  for (const h of readdirSync('/sys/fs/cgroup')) {
    if (existsSync(join('/sys/fs/cgroup', h, 'sidecar-node'))) found.push(`cgroup ${h}/sidecar-node`);
  }
  for (const save of ['iptables-save', 'ip6tables-save']) {
    const rules = spawnSync(save, { encoding: 'utf8' }).stdout;
    for (const l of rules.split('\n')) if (/^:(KUBE-|CNI-|SIDECAR-NODE)/.test(l)) found.push(`${save}: ${l}`);
  }
  if (existsSync('/var/lib/cni/results')) {
    found.push(
      ...readdirSync('/var/lib/cni/results')
        .filter((f) => f.startsWith('sidecar-node'))
        .map((f) => `cni result ${f}`),
    );
  }
  if (existsSync(dir)) found.push(`directory ${dir}`);
  return found;
}

const script = (archives: string[], app: string): string => `
import { NodeCluster } from ${JSON.stringify(join(ROOT, 'dist', 'dev', 'envtest', 'node.js'))};
import { CoreV1Api } from '@kubernetes/client-node';
import { loadKubeConfig } from ${JSON.stringify(join(ROOT, 'dist', 'dev', 'envtest', 'kubeconfig.js'))};
const node = new NodeCluster({ images: ${JSON.stringify(archives)} });
const info = await node.start();
const core = loadKubeConfig(info.adminKubeconfig).makeApiClient(CoreV1Api);
await core.createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'orphan' }, spec: {
  automountServiceAccountToken: false,
  containers: [{ name: 'app', image: ${JSON.stringify(app)}, imagePullPolicy: 'Never', args: ['serve'] }] } } });
for (;;) {
  const p = await core.readNamespacedPod({ name: 'orphan', namespace: 'default' });
  if (p.status?.phase === 'Running') break;
  await new Promise((r) => setTimeout(r, 250));
}
console.log(JSON.stringify({ pids: node.pids(), dir: node.dir }));
setInterval(() => {}, 1 << 30);
`;

describe('the node harness leaves nothing behind when the test process is killed', () => {
  it('SIGKILL of the process that started the node, with a pod running', async () => {
    const images = buildImages();
    const archives = images.archives.filter((a) => !a.includes('/operator-'));
    const child = spawn(process.execPath, ['--input-type=module', '-e', script(archives, images.app)], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const first = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).once('line', resolve);
      child.once('exit', (code) => reject(new Error(`node process exited with ${code}`)));
    });
    const { pids, dir } = JSON.parse(first) as { pids: number[]; dir: string };
    expect(pids.length).toBeGreaterThanOrEqual(6);
    expect(pids.every(alive)).toBe(true);
    // While it runs, there is something to leave behind: a shim and the pod's processes, mounts, chains.
    const during = leftovers(dir);
    expect(during.some((l) => l.includes('containerd-shim'))).toBe(true);
    expect(during.some((l) => l.startsWith('mount:'))).toBe(true);
    expect(during.some((l) => l.startsWith('iptables-save: :KUBE-'))).toBe(true);

    child.kill('SIGKILL');
    const started = Date.now();
    await eventually(() => (leftovers(dir).length === 0 ? true : undefined), {
      what: `nothing left of the node (still: ${leftovers(dir).join('; ')})`,
      timeoutMs: 60_000,
      intervalMs: 250,
    }).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}\nleft: ${leftovers(dir).join('\n')}`);
    });
    console.log(`node torn down ${((Date.now() - started) / 1000).toFixed(1)} s after SIGKILL`);
    expect(pids.some(alive)).toBe(false);
  });
});
