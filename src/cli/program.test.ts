import { describe, expect, it } from 'vitest';
import { buildProgram } from './program.js';

const argv = (...args: string[]): string[] => ['node', 'sidecar-operator', ...args];
const names = async (...args: string[]): Promise<string[]> =>
  (await buildProgram(argv(...args))).commands.map((c) => c.name()).sort();

describe('buildProgram', () => {
  it('loads only the command that runs', async () => {
    expect(await names('iptables', '--dry-run')).toEqual(['iptables']);
    expect(await names('--debug', 'inject', '-f', '-')).toEqual(['inject']);
    expect(await names('version', '--client')).toEqual(['version']);
  });

  it('loads nothing for --version', async () => {
    expect(await names('--version')).toEqual([]);
  });

  // Imports every command module (the Kubernetes client, x509, the webhook server…), three times: on a
  // busy machine that alone can pass vitest's 5 s default.
  it('loads every command for help and for an unknown command', { timeout: 30_000 }, async () => {
    const all = [
      'completion',
      'demo',
      'doctor',
      'inject',
      'iptables',
      'migrate',
      'proxy-config',
      'run',
      'uninstall',
      'version',
    ];
    expect(await names('--help')).toEqual(all);
    expect(await names()).toEqual(all);
    expect(await names('no-such-command')).toEqual(all);
    expect(await names('completion', 'bash')).toEqual(all);
  });
});
