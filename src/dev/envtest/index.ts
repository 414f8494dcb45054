/**
 * An envtest-style control plane: real etcd, kube-apiserver and (optionally)
 * kube-controller-manager on loopback, built by `make envtest`. Used by the test suites, the
 * benchmarks and the embedded demo.
 */
export { findBinaries, type Binaries } from './binaries.js';
export { eventually } from './eventually.js';
export {
  ControlPlane,
  installCRDs,
  type ControlPlaneInfo,
  type ControlPlaneOptions,
} from './control-plane.js';
export { kubeconfigYaml, loadKubeConfig } from './kubeconfig.js';
export {
  authorityFromPem,
  createAuthority,
  createSigningKey,
  issue,
  type Authority,
  type KeyPair,
  type LeafOptions,
} from './pki.js';
