import type { KubeConfig } from '@kubernetes/client-node';
import type { CompileOptions } from '../inject/index.js';
import { requestJson } from '../kube/index.js';

/** What the API server supports, as the compiler needs it. */
export type ServerFeatures = Pick<CompileOptions, 'nativeSidecars' | 'sleepAction'>;

/** Native sidecars (init containers with restartPolicy Always) are on by default from 1.29, the sleep lifecycle action from 1.30. */
export async function detectServerFeatures(kc: KubeConfig): Promise<ServerFeatures> {
  const v = await requestJson<{ major: string; minor: string }>(kc, { path: '/version' });
  const major = parseInt(v.major, 10);
  // Managed offerings report minors such as "30+".
  const minor = parseInt(v.minor, 10);
  const atLeast = (m: number): boolean => major > 1 || (major === 1 && minor >= m);
  return { nativeSidecars: atLeast(29), sleepAction: atLeast(30) };
}
