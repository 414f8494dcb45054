import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { shortId } from './controller-support.js';
import { envtest, testNamespace } from './support.js';

const MAIN = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  ms: number;
}

/** Runs the built CLI; a process still alive after `timeoutMs` is killed (and reported as such). */
function runCli(args: string[], timeoutMs: number): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr, ms: Date.now() - started });
    });
  });
}

function listening(): Promise<{ server: Server; port: number }> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, port: (server.address() as { port: number }).port }),
    );
  });
}

describe('sidecar-operator run', () => {
  const held: Server[] = [];
  afterAll(() => held.forEach((s) => s.close()));

  it('exits non-zero with one line when the webhook port is already taken', async () => {
    const { server, port } = await listening();
    held.push(server);
    const ns = await testNamespace('run-fatal');
    const run = await runCli(
      [
        'run',
        '--kubeconfig',
        envtest().adminKubeconfigPath,
        '--operator-namespace',
        ns,
        '--webhook-url',
        `https://127.0.0.1:${port}`,
        '--webhook-host',
        '127.0.0.1',
        '--webhook-port',
        String(port),
        '--policy-selector',
        `test.sidecar.dev/shard=run-${shortId()}`,
      ],
      20_000,
    );
    expect(run.signal, `still running after 20 s; stderr:\n${run.stderr}`).toBeNull();
    expect(run.code).toBe(1);
    const mentions = run.stderr.split('\n').filter((l) => l.includes('EADDRINUSE'));
    expect(mentions).toEqual([
      `sidecar-operator: listen EADDRINUSE: address already in use 127.0.0.1:${port}`,
    ]);
    // No stack trace: one line a person (or kubectl logs) reads at once.
    expect(run.stderr).not.toMatch(/^\s+at /m);
    expect(run.ms).toBeLessThan(15_000);
  });

  it('says what is missing when the webhook has no address (exit 2, one line), before touching the cluster', async () => {
    const run = await runCli(['run', '--kubeconfig', '/nonexistent/kubeconfig'], 20_000);
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toEqual([
      'sidecar-operator: run: one of --service-name or --webhook-url is required',
    ]);
  });
});
