// The harness lives in src/envtest so that the embedded demo can start the same control plane.
export * from '../../src/envtest/process.js';
