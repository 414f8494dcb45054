import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { ControlPlane, type ControlPlaneInfo } from './envtest/control-plane.js';

declare module 'vitest' {
  export interface ProvidedContext {
    envtest: ControlPlaneInfo;
    /** The Envoy bootstrap validator (hack/envoy-validate): its path, or why it could not be built. */
    envoyValidate: { path?: string; error?: string };
    /** The PromQL checker (hack/promql-check): its path, or why it could not be built. */
    promqlCheck: { path?: string; error?: string };
  }
}

/**
 * Builds (or finds in the cache) one of the Go checkers under hack/ (the Envoy bootstrap validator,
 * the PromQL checker); a machine that starts cold builds it here, once. A failure is handed to the
 * tests that need it rather than failing every suite.
 */
function goTool(name: string): { path?: string; error?: string } {
  const script = join(import.meta.dirname, '..', 'hack', name, 'build.sh');
  const r = spawnSync(script, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const path = r.stdout?.trim();
  if (r.status === 0 && path) return { path };
  return {
    error: `hack/${name}/build.sh failed (exit ${r.status ?? r.error?.message}): see its output above`,
  };
}

/** One control plane per test run; every integration test file shares it, isolated by namespace. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  project.provide('envoyValidate', goTool('envoy-validate'));
  project.provide('promqlCheck', goTool('promql-check'));
  const started = Date.now();
  const cp = new ControlPlane({
    controllerManager: process.env.ENVTEST_CONTROLLER_MANAGER !== 'false',
    crds: [join(import.meta.dirname, '..', 'crds')],
  });
  const info = await cp.start();
  // If the run ends without teardown (an error, a signal), still end the processes and remove the data.
  const onExit = (): void => {
    for (const pid of cp.pids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(info.dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  console.log(
    `envtest: kube-apiserver ${info.serverVersion} at ${info.server} (etcd, kube-controller-manager) ready in ${Date.now() - started} ms`,
  );
  project.provide('envtest', info);
  return async () => {
    await cp.stop();
    process.removeListener('exit', onExit);
  };
}
