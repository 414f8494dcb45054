import { pino, type Logger } from 'pino';

export type LogFormat = 'json' | 'text';

/**
 * The one root logger; components get children (`{component: 'controller', policy}` …).
 * Secret material never reaches the output: keys and certificates are redacted wherever they sit.
 */
export function createLogger(opts: { level?: string; format?: LogFormat } = {}): Logger {
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
    return pino({
      level: opts.level ?? 'info',
      redact,
      transport: { target: 'pino-pretty', options: { colorize: process.stderr.isTTY, destination: 2 } },
    });
  }
  return pino({ level: opts.level ?? 'info', redact }, pino.destination(2));
}
