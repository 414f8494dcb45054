export * from '../../src/envtest/node-tools.js';
