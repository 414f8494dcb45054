/* global AbortSignal */
// A real `sidecar-operator run` process for benchmarks, against a control plane the benchmark started.
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { clearTimeout, setTimeout } from 'node:timers';
import { fetch } from 'undici';
import { parseAllDocuments } from 'yaml';
import { findBinaries } from '../../dist/dev/envtest/index.js';
import { freePort } from '../../dist/dev/envtest/process.js';

export const OP_NS = 'sidecar-system';
export const LEASE = 'sidecar-operator-leader';

// What the chart's Deployment gives a replica's Node (values.yaml `runtime`, rendered by helm with
// the default values), so that "shipped" is measured as installed.
export function shippedEnvironment(root) {
  const rendered = execFileSync(
    findBinaries().helm,
    ['template', 'bench', join(root, 'charts', 'sidecar-operator')],
    {
      encoding: 'utf8',
    },
  );
  const deployment = parseAllDocuments(rendered)
    .map((d) => d.toJS())
    .find((o) => o?.kind === 'Deployment');
  const env = deployment.spec.template.spec.containers[0].env ?? [];
  return Object.fromEntries(
    env.filter((e) => ['NODE_OPTIONS', 'MALLOC_ARENA_MAX'].includes(e.name)).map((e) => [e.name, e.value]),
  );
}
/**
 * The CLI as the image ships it: the bundle of hack/bundle.ts under `dir` (a checkout), built into
 * `out`; returns the command that runs it.
 */
export function bundleCommand(dir, out) {
  execFileSync(process.execPath, [join(dir, 'hack', 'bundle.ts'), out], { stdio: 'inherit' });
  return [process.execPath, join(out, 'main.mjs')];
}

/** The command that runs the CLI of the compiled tree under `dir` (a checkout). */
export const treeCommand = (dir) => [process.execPath, join(dir, 'dist', 'cli', 'main.js')];

/**
 * One `run` process: `command` is the CLI (argv before the subcommand), `env` what it adds to the
 * environment. The webhook listens on 127.0.0.1 over HTTPS with the certificate it issues itself.
 */
export async function startOperator(command, kubeconfigPath, identity, { env = {}, resync = '20s' } = {}) {
  const [webhookPort, metricsPort] = [await freePort(), await freePort()];
  const [bin, ...pre] = command;
  const args = [
    ...pre,
    'run',
    '--kubeconfig',
    kubeconfigPath,
    '--operator-namespace',
    OP_NS,
    '--webhook-url',
    `https://127.0.0.1:${webhookPort}`,
    '--webhook-host',
    '127.0.0.1',
    '--webhook-port',
    String(webhookPort),
    '--metrics-port',
    String(metricsPort),
    // Read by the benchmark without a token.
    '--metrics-auth',
    'none',
    '--identity',
    identity,
    '--resync-period',
    resync,
    '--lease-duration',
    '15s',
    '--log-level',
    'warn',
  ];
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const lines = [];
  for (const s of [child.stdout, child.stderr])
    s.on('data', (d) => lines.push(...String(d).split('\n').filter(Boolean)));
  let status;
  const exited = new Promise((r) => child.once('exit', r)).then((code) => (status = code));
  return {
    /** Why it is no longer running (with its last lines), or undefined while it runs. */
    gone: () =>
      status === undefined ? undefined : `the operator exited (${status}):\n${lines.slice(-10).join('\n')}`,
    pid: child.pid,
    webhookPort,
    metricsPort,
    lines,
    started: performance.now(),
    async stop() {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** Reconciles so far and whether it leads, from its /metrics (plain HTTP probe port); undefined if down. */
export async function metrics(port) {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(10_000) }).catch(
    () => undefined,
  );
  if (!res?.ok) return undefined;
  const text = await res.text();
  const sum = (name) =>
    text
      .split('\n')
      .filter((l) => l.startsWith(name))
      .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
  return {
    reconciles: sum('controller_runtime_reconcile_total'),
    leader: sum('leader_election_master_status'),
  };
}
