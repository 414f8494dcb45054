// Loads what the webhook server loads, starts nothing, and reports its RSS.
import '../../dist/inject/index.js';
import '../../dist/webhook/index.js';
import 'pino';
import 'prom-client';
import process from 'node:process';

process.send({ rss: process.memoryUsage().rss }, () => process.exit(0));
