import { Command } from 'commander';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { version } from '../../operator/version.js';
import { parseDuration, setWarn } from '../flags.js';
import { configFromFlags, register } from './run.js';

describe('parseDuration', () => {
  it('reads the short units tests use', () => {
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('10m')).toBe(600_000);
    expect(parseDuration('90d')).toBe(90 * 86_400_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('1.5s')).toBe(1500);
  });

  it('reads Go durations as Helm values and cert-manager write them', () => {
    expect(parseDuration('8760h')).toBe(365 * 86_400_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('2m30s')).toBe(150_000);
  });

  it('takes a bare number as seconds, and warns where it was another unit', () => {
    const warned: string[] = [];
    const previous = setWarn((l) => warned.push(l));
    try {
      expect(parseDuration('15')).toBe(15_000);
      expect(warned).toEqual([]);
      expect(parseDuration('1500', '--lease-duration', 'ms')).toBe(1_500_000);
      expect(warned).toEqual([
        '--lease-duration 1500: a number without a unit is read as seconds (it was milliseconds); write 1500s or 1500ms',
      ]);
      expect(parseDuration(' 40s ')).toBe(40_000);
    } finally {
      setWarn(previous);
    }
  });

  it('refuses anything else', () => {
    for (const bad of ['', 's', '10 m', '10y', '-5s', '1h 30m', '10m!', 'abc']) {
      expect(() => parseDuration(bad), bad).toThrow(/not a duration/);
    }
  });
});

describe('run --init-image', () => {
  const saved = process.env.SIDECAR_INIT_IMAGE;
  beforeEach(() => {
    delete process.env.SIDECAR_INIT_IMAGE;
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.SIDECAR_INIT_IMAGE;
    else process.env.SIDECAR_INIT_IMAGE = saved;
  });

  /** The operator configuration `run` would start with these arguments. */
  async function initImageOf(...args: string[]): Promise<string> {
    const program = new Command().exitOverride();
    register(program);
    let image = '';
    program.commands[0]!.action((flags: Parameters<typeof configFromFlags>[0]) => {
      image = configFromFlags(flags, undefined as never).initImage ?? '';
    });
    await program.parseAsync(['node', 'sidecar-operator', 'run', '--service-name=s', ...args]);
    return image;
  }

  it('defaults to this release’s image', async () => {
    expect(await initImageOf()).toBe(`ghcr.io/sidecar-operator/sidecar-operator:v${version}`);
  });

  it('takes SIDECAR_INIT_IMAGE, and the flag over it', async () => {
    process.env.SIDECAR_INIT_IMAGE = 'registry.example/so:from-env';
    expect(await initImageOf()).toBe('registry.example/so:from-env');
    expect(await initImageOf('--init-image=registry.example/so:flag')).toBe('registry.example/so:flag');
  });
});

describe('run: who may call the webhook', () => {
  async function configOf(...args: string[]) {
    const program = new Command().exitOverride();
    register(program);
    let config: ReturnType<typeof configFromFlags> | undefined;
    program.commands[0]!.action((flags: Parameters<typeof configFromFlags>[0]) => {
      config = configFromFlags(flags, undefined as never);
    });
    await program.parseAsync(['node', 'sidecar-operator', 'run', '--service-name=s', ...args]);
    return config!;
  }

  it('records Events only for authenticated callers unless told otherwise', async () => {
    const plain = await configOf();
    expect(plain.admissionEvents).toBe(true);
    expect(plain.admissionEventsUnauthenticated).toBeUndefined();
    expect(plain.webhookClientCAFile).toBeUndefined();
    expect((await configOf('--admission-events-unauthenticated=true')).admissionEventsUnauthenticated).toBe(
      true,
    );
  });

  it('takes a client CA file and the names a client certificate may carry', async () => {
    const c = await configOf(
      '--webhook-client-ca=/etc/webhook/client-ca.crt',
      '--webhook-client-names',
      'kube-apiserver, apiserver-2',
    );
    expect(c.webhookClientCAFile).toBe('/etc/webhook/client-ca.crt');
    expect(c.webhookClientNames).toEqual(['kube-apiserver', 'apiserver-2']);
  });
});
