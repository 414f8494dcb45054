import { request } from 'node:https';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { INJECTOR_TEMPLATE_SELECTOR } from '../src/render/injector-configmap.js';
import type { OperatorHandle } from '../src/operator/index.js';
import { admin, shortId, startTestOperator } from './controller-support.js';
import { eventually, testNamespace } from './support.js';

/** GET over HTTPS without verifying the certificate: only the status code matters here. */
function status(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, rejectUnauthorized: false, timeout: 2000 },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('an operator with no policy at all', () => {
  let operator: OperatorHandle | undefined;
  afterAll(async () => operator?.stop());

  it('becomes ready with no injector template (an empty set was read)', async () => {
    const ns = await testNamespace('ctl-empty-op');
    operator = await startTestOperator(ns, `none-${shortId()}`);
    const port = operator.webhookPort;
    await eventually(async () => ((await status(port, '/readyz')) === 200 ? true : undefined), {
      what: '/readyz 200',
    });
    const core = admin().makeApiClient(CoreV1Api);
    const cms = await core.listNamespacedConfigMap({
      namespace: ns,
      labelSelector: INJECTOR_TEMPLATE_SELECTOR,
    });
    expect(cms.items).toEqual([]);
  });
});
