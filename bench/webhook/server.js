// The webhook server as the operator runs it (info-level JSON logs, to /dev/null here), in its own
// process so that the load generator does not share its event loop. Reports its port and, on
// request, its peak and current RSS over IPC.
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { compileTemplate } from '../../dist/inject/index.js';
import { QueuedEventRecorder } from '../../dist/kube/event-recorder.js';
import {
  ADMISSION_EVENT_RATE_LIMIT,
  WEBHOOK_EVENT_COMPONENT,
  WebhookServer,
} from '../../dist/webhook/index.js';
import process from 'node:process';
import { setInterval, setTimeout } from 'node:timers';

const [certFile, keyFile] = process.argv.slice(2);
const log = pino({ level: 'info' }, pino.destination({ dest: '/dev/null', sync: false }));
// BENCH_ADMISSION_EVENTS=1: record admission Events as the operator does, into a sink that answers
// after 2 ms as an API server would (there is none here), to show they cost the answer nothing.
const events =
  process.env.BENCH_ADMISSION_EVENTS === '1'
    ? new QueuedEventRecorder({
        sink: {
          create: () => new Promise((resolve) => setTimeout(() => resolve('web.1'), 2)),
          update: () => new Promise((resolve) => setTimeout(resolve, 2)),
        },
        reporter: { component: WEBHOOK_EVENT_COMPONENT, instance: 'bench' },
        clock: () => new Date(),
        rateLimit: ADMISSION_EVENT_RATE_LIMIT,
      })
    : undefined;
const server = new WebhookServer({
  log,
  registry: new Registry(),
  operatorNamespace: 'sidecar-system',
  host: '127.0.0.1',
  // BENCH_PORT: a fixed port, shared by the workers of bench/workers (node:cluster hands them one socket).
  port: Number(process.env.BENCH_PORT ?? 0),
  ...(events ? { events } : {}),
});
server.setCertificate({ certPem: readFileSync(certFile, 'utf8'), keyPem: readFileSync(keyFile, 'utf8') });
const template = compileTemplate(
  { metadata: { name: 'mesh' }, spec: { selector: { namespaces: ['apps'] } } },
  { nativeSidecars: true, initImage: 'ghcr.io/sidecar-operator/sidecar-operator:v0.1.0' },
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
