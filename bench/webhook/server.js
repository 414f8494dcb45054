// The webhook server as the operator runs it (info-level JSON logs, to /dev/null here), in its own
// process so that the load generator does not share its event loop. Reports its port and, on
// request, its peak and current RSS over IPC.
// @peculiar/x509 (under the certificate parsing) needs the Reflect polyfill before it loads.
import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { compileTemplate } from '../../dist/inject/index.js';
import { WebhookServer } from '../../dist/webhook/index.js';
import process from 'node:process';
import { setInterval } from 'node:timers';

const [certFile, keyFile] = process.argv.slice(2);
const log = pino({ level: 'info' }, pino.destination({ dest: '/dev/null', sync: false }));
const server = new WebhookServer({
  log,
  registry: new Registry(),
  operatorNamespace: 'sidecar-system',
  host: '127.0.0.1',
  port: 0,
});
server.setCertificate({ certPem: readFileSync(certFile, 'utf8'), keyPem: readFileSync(keyFile, 'utf8') });
const template = compileTemplate(
  { metadata: { name: 'mesh' }, spec: { selector: { namespaces: ['apps'] } } },
  { nativeSidecars: true },
);
server.setTemplates(new Map([['mesh', template]]));
const { port } = await server.start();

let peak = process.memoryUsage().rss;
setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50).unref();
process.on('message', async (msg) => {
  if (msg === 'rss') process.send({ rss: process.memoryUsage().rss, peak });
  if (msg === 'reset') {
    peak = process.memoryUsage().rss;
    process.send({ reset: true });
  }
  if (msg === 'stop') {
    await server.stop();
    process.exit(0);
  }
});
process.send({ port, rss: process.memoryUsage().rss });
