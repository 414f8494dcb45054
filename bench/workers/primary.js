// N webhook servers (bench/webhook/server.js) as node:cluster workers sharing one listening port,
// as a replica would run if it served admissions on more than one core. Reports the port once all
// listen, and on request the summed RSS of the workers and itself.
import cluster from 'node:cluster';
import { createServer } from 'node:net';
import { join } from 'node:path';
import process from 'node:process';

const [certFile, keyFile, count = '2'] = process.argv.slice(2);
const port = await new Promise((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => resolve(p));
  });
});
cluster.setupPrimary({
  exec: join(import.meta.dirname, '..', 'webhook', 'server.js'),
  args: [certFile, keyFile],
  silent: false,
});
const workers = Array.from({ length: Number(count) }, () => cluster.fork({ BENCH_PORT: String(port) }));
await Promise.all(workers.map((w) => new Promise((resolve) => w.once('message', resolve))));

const ask = (w, msg) => new Promise((resolve) => (w.once('message', resolve), w.send(msg)));
process.on('message', async (msg) => {
  if (msg === 'rss') {
    const all = await Promise.all(workers.map((w) => ask(w, 'rss')));
    const own = process.memoryUsage().rss;
    process.send({
      rss: own + all.reduce((n, r) => n + r.rss, 0),
      peak: own + all.reduce((n, r) => n + r.peak, 0),
    });
  }
  if (msg === 'stop') {
    for (const w of workers) w.send('stop');
    process.exit(0);
  }
});
process.send({ port });
