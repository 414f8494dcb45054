import { FIELD_MANAGER } from '../../api/index.js';
import { injectPod, type CompiledTemplate, type Pod } from '../../inject/index.js';

/** Name of the pod every dry run creates: fixed, so the server's messages (and the condition) are stable. */
export const CHECK_POD_NAME = 'sidecar-admission-check';

/** Pod Security's enforce label on a namespace. */
export const POD_SECURITY_ENFORCE_LABEL = 'pod-security.kubernetes.io/enforce';

/**
 * A minimal application pod, as well-behaved as pods come (non-root, no privilege escalation, every
 * capability dropped, the runtime's seccomp profile, each set on its container so that the injected
 * containers are judged on their own), no token mounted. What the API server refuses in it is what
 * injection added.
 */
export function applicationPod(namespace: string): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: CHECK_POD_NAME,
      namespace,
      labels: {
        'app.kubernetes.io/name': CHECK_POD_NAME,
        'app.kubernetes.io/managed-by': FIELD_MANAGER,
      },
    },
    spec: {
      automountServiceAccountToken: false,
      containers: [
        {
          name: 'app',
          image: 'registry.k8s.io/pause:3.10',
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 65532,
            allowPrivilegeEscalation: false,
            capabilities: { drop: ['ALL'] },
            seccompProfile: { type: 'RuntimeDefault' },
          },
        },
      ],
    },
  };
}

/**
 * The application pod injected with the policy's compiled template by the webhook's own code;
 * undefined when the template would not inject it (nothing to check). The result carries the
 * sidecar containers, so the webhook, which decides from the containers a pod has, answers
 * AlreadyInjected and patches nothing.
 */
export function representativePod(
  template: CompiledTemplate,
  namespace: string,
  operatorNamespace: string,
): Pod | undefined {
  const result = injectPod(applicationPod(namespace), template, { namespace, operatorNamespace });
  return result.decision.inject ? result.pod : undefined;
}
