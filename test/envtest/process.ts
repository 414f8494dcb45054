// The harness lives in src/dev/envtest so that the embedded demo can start the same control plane.
export * from '../../src/dev/envtest/process.js';
