import { randomBytes } from 'node:crypto';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { afterAll, inject } from 'vitest';
import type { ControlPlaneInfo } from './envtest/control-plane.js';
import { kubeconfigYaml, loadKubeConfig } from './envtest/kubeconfig.js';
import { authorityFromPem, issue } from './envtest/pki.js';

/** The shared control plane started by the global setup. */
export function envtest(): ControlPlaneInfo {
  return inject('envtest');
}

/** A client for the admin user (system:masters). */
export function adminKubeConfig(): KubeConfig {
  return loadKubeConfig(envtest().adminKubeconfig);
}

/** Kubeconfig YAML for a non-admin identity (client certificate: CN = user, O = groups). */
export async function userKubeconfigYaml(user: string, groups: string[] = []): Promise<string> {
  const info = envtest();
  const ca = await authorityFromPem(info.clientCA);
  const cred = await issue(ca, { commonName: user, organizations: groups, usage: 'client' });
  const servingCA = /certificate-authority-data: (\S+)/.exec(info.adminKubeconfig)![1]!;
  return kubeconfigYaml(info.server, Buffer.from(servingCA, 'base64').toString(), user, cred);
}

export async function userKubeConfig(user: string, groups: string[] = []): Promise<KubeConfig> {
  return loadKubeConfig(await userKubeconfigYaml(user, groups));
}

/**
 * A namespace of the test's own, deleted after the file's tests (tests isolate by namespace).
 */
export async function testNamespace(prefix: string, labels: Record<string, string> = {}): Promise<string> {
  const core = adminKubeConfig().makeApiClient(CoreV1Api);
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await core.createNamespace({ body: { metadata: { name, labels } } });
  afterAll(async () => {
    await core.deleteNamespace({ name }).catch(() => undefined);
  });
  return name;
}

export { eventually } from '../src/dev/envtest/index.js';
