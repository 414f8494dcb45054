import { readFile } from 'node:fs/promises';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { ServingMaterial } from '../certs/secret-format.js';
import {
  createAdmissionEventRecorder,
  kubernetesMetricsAuthorizer,
  WebhookServer,
  type WebhookServerOptions,
  watchInjectorTemplates,
  watchServingSecret,
} from '../webhook/index.js';
import type { ResolvedConfig } from './config.js';

/** What every replica runs: the webhook server, fed by the watched Secret and template ConfigMaps. */
export interface Serving {
  ports: { port: number; probePort?: number };
  /** The serving material last loaded, if any. */
  material(): ServingMaterial | undefined;
  /** Not ready from now on, each answer closing its connection; still listening. */
  drain(): void;
  stop(): Promise<void>;
}

/** Who may call the webhook, and whose reviews become Events. */
async function callerOptions(c: ResolvedConfig): Promise<Partial<WebhookServerOptions>> {
  return {
    ...(c.admissionEventsUnauthenticated ? { unauthenticatedEvents: true } : {}),
    ...(c.webhookClientCAFile ? { clientCAPem: await readFile(c.webhookClientCAFile, 'utf8') } : {}),
    ...(c.webhookClientNames?.length ? { clientCommonNames: c.webhookClientNames } : {}),
  };
}

/**
 * Starts the webhook server with its two watches. When it cannot listen (a port in use), releases
 * what was started before it, so that nothing keeps the process alive behind the error, and
 * rethrows. `onMaterial` hears of every new serving certificate.
 */
export async function startServing(
  c: ResolvedConfig,
  kc: KubeConfig,
  o: {
    identity: string;
    registry: Registry;
    certLog: Logger;
    onMaterial: () => void;
    closeClient: () => Promise<void>;
  },
): Promise<Serving> {
  const log = c.log.child({ component: 'webhook' });
  const admissionEvents = c.admissionEvents
    ? createAdmissionEventRecorder(kc, { instance: o.identity, registry: o.registry, log })
    : undefined;
  const server = new WebhookServer({
    log,
    registry: o.registry,
    operatorNamespace: c.namespace,
    port: c.webhookPort,
    ...(c.webhookHost ? { host: c.webhookHost } : {}),
    ...(c.metricsPort !== undefined ? { probePort: c.metricsPort } : {}),
    ...(admissionEvents ? { events: admissionEvents } : {}),
    ...(c.metricsAuth === 'kubernetes'
      ? { metricsAuthorizer: kubernetesMetricsAuthorizer(kc, { log }) }
      : {}),
    ...(await callerOptions(c)),
  });
  let material: ServingMaterial | undefined;
  const secretWatch = watchServingSecret(kc, c.namespace, c.secretName, o.certLog, (m) => {
    server.setCertificate(m);
    material = m;
    o.onMaterial();
  });
  const templateWatch = watchInjectorTemplates(kc, c.namespace, log, (t) => server.setTemplates(t));
  const stopWatches = async (eventsDrainMs: number): Promise<void> => {
    await Promise.all([secretWatch.stop(), templateWatch.stop(), admissionEvents?.stop(eventsDrainMs)]);
  };
  let ports: Serving['ports'];
  try {
    ports = await server.start();
  } catch (err) {
    // The webhook port may be bound when the probe port is the one taken.
    await Promise.all([server.stop(), stopWatches(0).then(o.closeClient)]);
    throw err;
  }
  return {
    ports,
    material: () => material,
    drain: () => server.drain(),
    async stop() {
      await server.stop();
      await stopWatches(2000);
    },
  };
}
