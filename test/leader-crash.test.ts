import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { LeaderElector } from '../src/kube/index.js';
import { loadKubeConfig, requestJson } from '../src/kube/index.js';
import { envtest, eventually, testNamespace } from './support.js';

const root = join(import.meta.dirname, '..');
const LEASE_MS = 4_000;
const RENEW_MS = 3_000;
const RETRY_MS = 500;

/** A candidate in its own process (the compiled code), so that it can really crash. */
function candidateProcess(namespace: string) {
  const script = `
import { pino } from 'pino';
import { LeaderElector } from ${JSON.stringify(join(root, 'dist', 'kube', 'leader.js'))};
import { loadKubeConfig } from ${JSON.stringify(join(root, 'dist', 'kube', 'index.js'))};
const elector = new LeaderElector({
  kc: loadKubeConfig({ kubeconfig: ${JSON.stringify(envtest().adminKubeconfigPath)} }),
  namespace: ${JSON.stringify(namespace)}, name: 'crash-test', identity: 'crashing',
  log: pino({ level: 'silent' }),
  leaseDurationMs: ${LEASE_MS}, renewDeadlineMs: ${RENEW_MS}, retryPeriodMs: ${RETRY_MS},
  onStartedLeading: () => console.log('leading'), onStoppedLeading: () => {},
});
elector.start();
`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const leading = new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (l) => l === 'leading' && resolve());
    child.once('exit', (code) => reject(new Error(`candidate exited with ${code}`)));
  });
  return { child, leading };
}

describe('leader election when the leader crashes', () => {
  let follower: LeaderElector | undefined;
  afterAll(async () => follower?.stop());

  it('a follower takes over once the unrenewed lease has expired, not before', async () => {
    const namespace = await testNamespace('lease-crash');
    const { child, leading } = candidateProcess(namespace);
    await leading;

    let tookOver = 0;
    follower = new LeaderElector({
      kc: loadKubeConfig({ kubeconfigYaml: envtest().adminKubeconfig }),
      namespace,
      name: 'crash-test',
      identity: 'follower',
      log: pino({ level: 'silent' }),
      leaseDurationMs: LEASE_MS,
      renewDeadlineMs: RENEW_MS,
      retryPeriodMs: RETRY_MS,
      onStartedLeading: () => {
        tookOver = Date.now();
      },
      onStoppedLeading: () => undefined,
    });
    follower.start();
    // The follower must see a live leader first: it does not lead while the lease is renewed.
    await new Promise((r) => setTimeout(r, 2 * RETRY_MS + 200));
    expect(follower.isLeader).toBe(false);

    const crashedAt = Date.now();
    child.kill('SIGKILL');
    await eventually(() => (tookOver ? true : undefined), {
      what: 'takeover',
      timeoutMs: LEASE_MS * 3,
      intervalMs: 20,
    });
    const handoverMs = tookOver - crashedAt;
    console.log(
      `leader handover after a crash: ${handoverMs} ms (lease ${LEASE_MS} ms, retry ${RETRY_MS} ms)`,
    );
    // No release: the lease must run out first (it was renewed at most one retry period before the
    // crash), and the follower notices within about one retry period after that.
    expect(handoverMs).toBeGreaterThanOrEqual(LEASE_MS - RETRY_MS - 100);
    expect(handoverMs).toBeLessThan(LEASE_MS + 3 * RETRY_MS);
  });

  it('a leader keeps renewing while its start callback is still running (e.g. caches syncing)', async () => {
    const namespace = await testNamespace('lease-slow');
    const elector = new LeaderElector({
      kc: loadKubeConfig({ kubeconfigYaml: envtest().adminKubeconfig }),
      namespace,
      name: 'slow-start',
      identity: 'slow',
      log: pino({ level: 'silent' }),
      leaseDurationMs: LEASE_MS,
      renewDeadlineMs: RENEW_MS,
      retryPeriodMs: RETRY_MS,
      onStartedLeading: () => new Promise<void>(() => undefined), // never finishes
      onStoppedLeading: () => undefined,
    });
    const path = `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/slow-start`;
    const renewTime = async () =>
      (await requestJson<{ spec: { renewTime: string } }>(envKc(), { path })).spec.renewTime;
    elector.start();
    try {
      await eventually(() => (elector.isLeader ? true : undefined), { what: 'leadership' });
      const first = await renewTime();
      await new Promise((r) => setTimeout(r, 3 * RETRY_MS));
      expect(await renewTime()).not.toBe(first);
      expect(elector.isLeader).toBe(true);
    } finally {
      await elector.stop();
    }
  });
});

function envKc() {
  return loadKubeConfig({ kubeconfigYaml: envtest().adminKubeconfig });
}
