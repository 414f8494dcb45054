// Hostile admission inputs: pods whose review is about `n` characters, shaped to cost the webhook
// more than their size (a string where an object belongs, many keys, deep nesting…). Shared by the
// per-review timing (bench/hostile) and the soak (bench/soak).

/** The pod every shape starts from, in namespace `namespace`. */
export const basePod = (namespace = 'apps') => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    generateName: 'web-7c9f8d6b5-',
    namespace,
    labels: { app: 'web' },
    annotations: {},
    ownerReferences: [
      { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-7c9f8d6b5', uid: 'r-1', controller: true },
    ],
  },
  spec: { containers: [{ name: 'app', image: 'registry.example/web:1', ports: [{ containerPort: 8080 }] }] },
});

/** Entries sized so that the body is about `n` characters. */
const keys = (count, value = '') =>
  Object.fromEntries(Array.from({ length: count }, (_, i) => [`k${i}`, value]));

/**
 * Each shape builds a pod whose review is about `n` characters from `p` (a `basePod()`); `revision`
 * is the template revision the status annotation names.
 */
export const hostileShapes = (revision) => ({
  'annotations: a string': (n, p) => ((p.metadata.annotations = 'a'.repeat(n)), p),
  'labels: a string': (n, p) => ((p.metadata.labels = 'a'.repeat(n)), p),
  'spec.containers: a string': (n, p) => ((p.spec.containers = 'a'.repeat(n)), p),
  'annotations: n/10 keys': (n, p) => ((p.metadata.annotations = keys(Math.floor(n / 10))), p),
  'labels: n/10 keys': (n, p) => ((p.metadata.labels = keys(Math.floor(n / 10))), p),
  'containers: n/25': (n, p) => (
    (p.spec.containers = Array.from({ length: Math.floor(n / 25) }, (_, i) => ({ name: `c${i}` }))),
    p
  ),
  'container ports: n/25': (n, p) => (
    (p.spec.containers[0].ports = Array.from({ length: Math.floor(n / 25) }, (_, i) => ({
      containerPort: (i % 60000) + 1,
    }))),
    p
  ),
  'env vars: n/25': (n, p) => (
    (p.spec.containers[0].env = Array.from({ length: Math.floor(n / 25) }, (_, i) => ({ name: `V${i}` }))),
    p
  ),
  'ownerReferences: n/25': (n, p) => (
    (p.metadata.ownerReferences = Array.from({ length: Math.floor(n / 25) }, (_, i) => ({ name: `o${i}` }))),
    p
  ),
  'status annotation naming n/10 containers': (n, p) => (
    (p.metadata.annotations['sidecar.dev/status'] = JSON.stringify({
      policy: 'mesh',
      revision,
      initContainers: [],
      containers: Array.from({ length: Math.floor(n / 10) }, (_, i) => `c${i}`),
      volumes: [],
    })),
    p
  ),
  'override: a run of n colons': (n, p) => (
    (p.metadata.annotations['traffic.sidecar.dev/excludeOutboundIPRanges'] = ':'.repeat(n)),
    p
  ),
  'override: n/15 CIDRs': (n, p) => (
    (p.metadata.annotations['traffic.sidecar.dev/excludeOutboundIPRanges'] = Array.from(
      { length: Math.floor(n / 15) },
      (_, i) => `10.${(i >> 8) & 255}.${i & 255}.0/24`,
    ).join(',')),
    p
  ),
  'unknown field nested n/2 deep': (n, p) => ((p.spec.x = '@'), p),
});

/** JSON cannot be built this deep by JSON.stringify (it recurses); splice the nesting in as text. */
export const nested = (body, n) =>
  body.replace('"@"', '['.repeat(Math.floor(n / 2)) + ']'.repeat(Math.floor(n / 2)));

/** The review text of shape `name` at about `n` characters. */
export function hostileBody(shapes, name, n, review, namespace) {
  const body = review(shapes[name](n, basePod(namespace)));
  return name.startsWith('unknown field') ? nested(body, n) : body;
}
