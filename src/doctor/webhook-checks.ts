import type { V1MutatingWebhookConfiguration } from '@kubernetes/client-node';
import { fail, pass, warn, type CheckResult } from './check.js';
import type { DoctorInputs, WebhookProbe } from './inputs.js';

const MANAGED = 'app.kubernetes.io/managed-by=sidecar-operator';

function configOf(inputs: DoctorInputs, policy: string): V1MutatingWebhookConfiguration | undefined {
  return inputs.webhookConfigurations.find((w) => w.metadata?.name === policy);
}

/** Every policy in scope has its MutatingWebhookConfiguration; none is left by a deleted policy. */
export function checkWebhookConfigurations(inputs: DoctorInputs): CheckResult[] {
  const out: CheckResult[] = [];
  const live = new Set(inputs.policies.map((p) => p.metadata?.name ?? ''));
  for (const policy of inputs.scope) {
    const name = `webhook-configuration:${policy}`;
    const mwc = configOf(inputs, policy);
    if (!mwc) {
      out.push(
        fail(
          'SO120',
          name,
          `MutatingWebhookConfiguration ${policy} does not exist: the API server never calls the injector for this policy`,
          'the operator recreates it when it runs and leads: check the operator pods and logs',
        ),
      );
      continue;
    }
    const hooks = mwc.webhooks ?? [];
    const paths = hooks.map(
      (h) =>
        h.clientConfig.url ??
        `service ${h.clientConfig.service?.namespace}/${h.clientConfig.service?.name}${h.clientConfig.service?.path ?? ''}`,
    );
    const policies = hooks.map((h) => `failurePolicy ${h.failurePolicy ?? 'Fail'}`);
    out.push(pass(name, `exists (${[...paths, ...new Set(policies)].join(', ')})`));
  }
  for (const mwc of inputs.webhookConfigurations) {
    const policy = mwc.metadata?.name ?? '';
    if (live.has(policy)) continue;
    out.push(
      warn(
        'SO147',
        `webhook-configuration:${policy}`,
        `labelled ${MANAGED} but no SidecarPolicy ${policy} exists: left behind, it may block pod creation`,
        `kubectl delete mutatingwebhookconfiguration ${policy}`,
      ),
    );
  }
  return out;
}

const UNREACHABLE_FIX =
  'from outside the cluster: kubectl -n <operator namespace> port-forward svc/<operator service> 9443:443, then rerun with --webhook-url https://127.0.0.1:9443';

/** The caBundle verifies the certificate the webhook actually serves, for the name the API server dials. */
export function checkCaBundle(policy: string, probe: WebhookProbe): CheckResult {
  const name = `webhook-ca-bundle:${policy}`;
  if (probe.caBundleEmpty)
    return fail(
      'SO122',
      name,
      'clientConfig.caBundle is empty: the API server cannot trust the webhook',
      'the operator writes it: check its CertificateReady condition and logs',
    );
  if (probe.unreachable !== undefined)
    return warn('SO125', name, `not verified: ${probe.unreachable}`, UNREACHABLE_FIX);
  const tls = probe.tls;
  if (!tls) return warn('SO125', name, 'not verified: no TLS probe was made');
  if (tls.connectError !== undefined)
    return fail(
      'SO123',
      name,
      `cannot connect to the webhook at ${tls.address}: ${tls.connectError}`,
      probe.via === 'service'
        ? UNREACHABLE_FIX
        : 'start the operator, or check that it listens on that address',
    );
  if (tls.chainVerified !== true)
    return fail(
      'SO121',
      name,
      `the certificate served at ${tls.address} (${tls.peerSubject ?? 'no subject'}) does not verify against the caBundle: ${tls.chainError ?? 'unknown reason'}; the API server rejects every call`,
      'let the operator re-sync the caBundle (it rewrites it from its certificate Secret); if something else writes caBundle (a GitOps tool, a chart), stop it',
    );
  if (tls.hostnameError !== undefined)
    return fail(
      'SO124',
      name,
      `the served certificate is not valid for ${tls.expectedHost}: ${tls.hostnameError}`,
      'the serving certificate must name the webhook Service (or the URL host)',
    );
  return pass(
    name,
    `the certificate served at ${tls.address} verifies against the caBundle for ${tls.expectedHost}`,
  );
}

/** The webhook answers a dry-run AdmissionReview with a patch. */
export function checkReview(policy: string, probe: WebhookProbe): CheckResult {
  const name = `webhook-review:${policy}`;
  if (probe.unreachable !== undefined)
    return warn('SO125', name, `not tried: ${probe.unreachable}`, UNREACHABLE_FIX);
  const r = probe.review;
  if (!r) return warn('SO125', name, 'not tried: the webhook could not be reached over TLS');
  if (r.error !== undefined)
    return fail(
      'SO126',
      name,
      `POST ${probe.url}: ${r.error}`,
      'check that the operator runs and its /readyz is 200',
    );
  if (r.httpStatus === 401)
    // The webhook serves only callers with the API server's client certificate (webhook.clientAuth):
    // doctor has none. The admission dry-run through the API server checks the real caller.
    return pass(
      name,
      `POST ${probe.url} answered 401 to a caller without the API server's client certificate: only the API server is served (see mutating-admission-webhook for its own calls)`,
    );
  if (r.httpStatus !== 200)
    return fail('SO126', name, `POST ${probe.url} answered HTTP ${r.httpStatus}: ${r.message ?? ''}`.trim());
  if (r.allowed !== true)
    return fail(
      'SO126',
      name,
      `the webhook refused a minimal pod: ${r.message ?? 'no message'}`,
      'check the operator logs; failurePolicy decides what the API server does then',
    );
  if ((r.patchOps ?? 0) === 0)
    return warn(
      'SO127',
      name,
      `the webhook admitted a minimal pod without injecting it${r.message ? `: ${r.message}` : ''}`,
    );
  return pass(name, `answered a dry-run AdmissionReview with a ${r.patchOps}-operation patch`);
}

/**
 * MutatingAdmissionWebhook is effectively on: the API server's flags cannot be read, but a pod
 * created with dryRun=All in a governed namespace coming back injected proves it.
 */
export function checkAdmissionPlugin(inputs: DoctorInputs): CheckResult {
  const name = 'mutating-admission-webhook';
  const a = inputs.admission;
  if (!a)
    return warn(
      'SO129',
      name,
      'not verified: no governed namespace to create a dry-run pod in (the API server flags cannot be read)',
      'rerun with --namespace <a namespace a policy governs>',
    );
  const where = `a dry-run pod in namespace ${a.namespace} (policy ${a.policy})`;
  if (a.error !== undefined) {
    if (a.errorCode === 403)
      return warn('SO129', name, `not verified: not allowed to create ${where}: ${a.error}`);
    return fail(
      'SO128',
      name,
      `${where} was refused: ${a.error}`,
      /failed calling webhook/i.test(a.error)
        ? 'the API server cannot reach the webhook and failurePolicy is Fail: every pod in governed namespaces is refused; check the operator pods and the Service endpoints'
        : undefined,
    );
  }
  if (a.mutated === true) return pass(name, `${where} came back injected: the API server calls the webhook`);
  return fail(
    'SO128',
    name,
    `${where} came back without a sidecar: the MutatingAdmissionWebhook admission plugin is off, the webhook is unreachable with failurePolicy Ignore, or its selectors do not match`,
    'check --enable-admission-plugins / --disable-admission-plugins on the API server, and the webhook checks above',
  );
}
