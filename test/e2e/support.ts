export * from '../../src/dev/envtest/node-tools.js';
