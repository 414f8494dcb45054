// The admission inputs every webhook benchmark sends (ours alone, ours against Istio, a whole replica).

/** A 10-container pod as a Deployment's ReplicaSet creates it: ports, env, resources, probes, mounts. */
export function tenContainerPod() {
  const containers = Array.from({ length: 10 }, (_, i) => ({
    name: `app-${i}`,
    image: `registry.example/team/app-${i}:1.${i}.0`,
    ports: [{ name: 'http', containerPort: 8080 + i, protocol: 'TCP' }],
    env: Array.from({ length: 5 }, (_, j) => ({ name: `VAR_${j}`, value: `value-${i}-${j}` })),
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
    readinessProbe: { httpGet: { path: '/ready', port: 8080 + i }, periodSeconds: 5 },
    volumeMounts: [{ name: `data-${i}`, mountPath: `/data/${i}` }],
  }));
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: 'web-7c9f8d6b5-',
      namespace: 'apps',
      labels: { app: 'web', 'pod-template-hash': '7c9f8d6b5' },
      ownerReferences: [
        { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-7c9f8d6b5', uid: 'r-1', controller: true },
      ],
    },
    spec: {
      containers,
      volumes: containers.map((_, i) => ({ name: `data-${i}`, emptyDir: {} })),
      serviceAccountName: 'web',
    },
  };
}

/** One container with 1,500 environment variables: about 64 KB. */
export function bigPod() {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'big', namespace: 'apps', labels: { app: 'big' } },
    spec: {
      containers: [
        {
          name: 'app',
          image: 'registry.example/app:1',
          env: Array.from({ length: 1500 }, (_, j) => ({ name: `VAR_${j}`, value: `v-${j}` })),
        },
      ],
    },
  };
}

/** The AdmissionReview (JSON text) the API server sends for creating `pod` in its namespace. */
export const review = (pod) =>
  JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: '0f6c3a4e-1b7c-4c55-9d7f-2f0c1f1e9b11',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      operation: 'CREATE',
      namespace: pod.metadata.namespace,
      userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller' },
      object: pod,
      dryRun: false,
    },
  });
