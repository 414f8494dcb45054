import { pino, type Logger } from 'pino';

export type LogFormat = 'json' | 'text';

/**
 * The one root logger; components get children (`{component: 'controller', policy}` …).
 * Secret material never reaches the output: keys and certificates are redacted wherever they sit.
 */
export async function createLogger(opts: { level?: string; format?: LogFormat } = {}): Promise<Logger> {
  const redact = {
    paths: [
      '*.keyPem',
      '*.key',
      '*.privateKey',
      '*.data',
      '*.*.keyPem',
      'secret.data',
      'req.headers.authorization',
    ],
    censor: '[redacted]',
  };
  if (opts.format === 'text') {
    // Loaded only when asked for, and run on this thread: a transport would start a worker thread
    // (about 15 MiB) that finds pino-pretty by name, which a bundle does not have.
    const { default: pretty } = await import('pino-pretty');
    return pino(
      { level: opts.level ?? 'info', redact },
      pretty({ colorize: process.stderr.isTTY, destination: 2, sync: true }),
    );
  }
  return pino({ level: opts.level ?? 'info', redact }, pino.destination(2));
}
