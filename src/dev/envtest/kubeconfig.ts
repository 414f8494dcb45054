import { KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import type { KeyPair } from './pki.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

/** A kubeconfig document for one user authenticating with a client certificate. */
export function kubeconfigYaml(server: string, caPem: string, user: string, cred: KeyPair): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'envtest', cluster: { server, 'certificate-authority-data': b64(caPem) } }],
    users: [
      {
        name: user,
        user: { 'client-certificate-data': b64(cred.certPem), 'client-key-data': b64(cred.keyPem) },
      },
    ],
    contexts: [{ name: user, context: { cluster: 'envtest', user } }],
    'current-context': user,
  });
}

export function loadKubeConfig(yaml: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(yaml);
  return kc;
}
