import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const MAIN = join(ROOT, 'dist', 'cli', 'main.js');

function node(args: string[]): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr, ms: Date.now() - started }));
  });
}

beforeAll(async () => {
  const build = await node([
    join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
    '-p',
    'tsconfig.build.json',
  ]);
  if (!existsSync(MAIN)) throw new Error(`build did not produce ${MAIN}: ${build.stdout}${build.stderr}`);
}, 300_000);

describe('sidecar-operator demo --exit', () => {
  it('starts its own control plane and the operator, and shows a pod with the sidecar injected', async () => {
    const run = await node([MAIN, 'demo', '--exit']);
    // Wall time, for the record (the run starts etcd, kube-apiserver and kube-controller-manager).
    console.log(`demo --exit: ${run.ms} ms`);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const out = run.stdout;
    // Not a terminal: no colour.
    expect(out).not.toContain('\x1b[');
    // A progress line per step, with timings.
    expect(out.match(/^ {2}✓ .+ \(\d+(\.\d)? m?s\)$/gm)?.length).toBeGreaterThanOrEqual(5);
    expect(out).toMatch(/^ {4}Ready +True +Reconciled/m);
    expect(out).toMatch(/label +sidecar\.dev\/policy=bookinfo/);
    expect(out).toMatch(/annotation sidecar\.dev\/revision=[0-9a-f]+/);
    expect(out).toMatch(/^Pod bookinfo\/productpage-v1-\S+$/m);
    expect(out).toMatch(/initContainer +sidecar-init /);
    expect(out).toMatch(
      /initContainer +sidecar-proxy +docker\.io\/envoyproxy\/envoy:\S+ restartPolicy=Always/,
    );
    expect(out).toMatch(/container +productpage /);
    expect(out).toMatch(/"policy":"bookinfo"/);
    expect(out).toMatch(/sidecar-operator iptables -p 15001 -z 15006 -u 1337 -m REDIRECT/);
    expect(out).toContain('-A SIDECAR_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006');
    expect(out).toContain('-A SIDECAR_INBOUND -p tcp --dport 9080 -j SIDECAR_IN_REDIRECT');
    expect(out).toMatch(/^sidecar injected into bookinfo\/productpage-v1-\S+ — total \d/m);
    expect(out).toMatch(/stopped the operator and the control plane, removed their files .*demo total \d/);
  }, 240_000);
});
