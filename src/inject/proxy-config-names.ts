/**
 * Where the proxy's configuration lives and how sidecar-init is told about it. Apart from
 * proxy-config.ts so that sidecar-init (`sidecar-operator iptables`, run at every pod start) loads
 * only what writing the file needs.
 */

/** The proxy's memory-backed configuration volume, and the file in it the proxy reads. */
export const CONFIG_MOUNT_PATH = '/etc/sidecar/proxy';
export const PROXY_CONFIG_FILE = `${CONFIG_MOUNT_PATH}/envoy.yaml`;
/** The init container's environment: the configuration to write, and where. */
export const PROXY_CONFIG_ENV = 'SIDECAR_PROXY_CONFIG';
export const PROXY_CONFIG_FILE_ENV = 'SIDECAR_PROXY_CONFIG_FILE';
