import {
  CONFIG_VOLUME_NAME,
  findContainer,
  parseStatus,
  PROXY_CONTAINER_NAME,
  proxyConfigPath,
  readPodProxyConfig,
  type Pod,
} from '../inject/index.js';
import { fail, pass, warn, type CheckResult } from './check.js';
import type { DoctorInputs } from './inputs.js';

const RESTART =
  'recreate it so the current revision is injected (kubectl rollout restart on its workload, or delete the pod)';

/** The volume mount of the proxy under which `path` lies, the deepest one. */
function mountFor(pod: Pod, path: string): { name: string; mountPath: string } | undefined {
  const proxy = findContainer(pod, PROXY_CONTAINER_NAME);
  const mounts = Array.isArray(proxy?.volumeMounts)
    ? (proxy.volumeMounts as { name: string; mountPath: string }[])
    : [];
  return mounts
    .filter((m) => path.startsWith(m.mountPath.endsWith('/') ? m.mountPath : `${m.mountPath}/`))
    .sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
}

/**
 * Whether the injected proxy of the pod has a configuration when it starts: the file it is told to
 * read (`--config-path`) must be the one sidecar-init writes, or lie on a volume of the policy's
 * (a ConfigMap, say). A proxy reading a file nothing provides exits at once, and the pod never gets
 * ready: pods injected before the operator rendered configurations are like that.
 */
export function checkProxyConfig(inputs: DoctorInputs): CheckResult | undefined {
  const pod = inputs.pod?.pod;
  if (!pod || parseStatus(pod.metadata?.annotations) === undefined) return undefined;
  if (!findContainer(pod, PROXY_CONTAINER_NAME)) return undefined;
  const ns = inputs.namespace?.name ?? pod.metadata?.namespace ?? 'default';
  const name = `proxy-config:${ns}/${inputs.pod?.name ?? pod.metadata?.name ?? ''}`;
  const path = proxyConfigPath(pod);
  const written = readPodProxyConfig(pod);
  if (path === undefined) {
    if (written)
      return warn(
        'SO168',
        name,
        `sidecar-init writes ${written.file}, but the proxy is not told to read it (no --config-path)`,
      );
    return warn(
      'SO168',
      name,
      'the proxy is given no configuration file: only an image that configures itself (bootstrap mode None) starts like that',
      'check the proxy’s logs; with Envoy, set spec.proxy.bootstrap.mode to Default, Template or Xds',
    );
  }
  if (written?.file === path)
    return pass(
      name,
      `sidecar-init writes ${path} (${Buffer.byteLength(written.text)} bytes before substitutions) before the proxy starts`,
    );
  const mount = mountFor(pod, path);
  if (!mount)
    return fail(
      'SO169',
      name,
      `the proxy reads ${path}, which lies on no volume it mounts: the file cannot exist and the proxy exits`,
      RESTART,
    );
  if (mount.name === CONFIG_VOLUME_NAME)
    return fail(
      'SO169',
      name,
      `the proxy reads ${path} from its memory volume, but nothing writes it there (injected before the operator rendered proxy configurations?)`,
      RESTART,
    );
  return pass(name, `the proxy reads ${path} from volume ${mount.name} (mounted at ${mount.mountPath})`);
}
