import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { ControlPlane, type ControlPlaneInfo } from './envtest/control-plane.js';

declare module 'vitest' {
  export interface ProvidedContext {
    envtest: ControlPlaneInfo;
  }
}

/** One control plane per test run; every integration test file shares it, isolated by namespace. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
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
