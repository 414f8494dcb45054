// Takes Istio's default injection config out of `istioctl manifest generate` output: the
// istio-sidecar-injector ConfigMap's `config` (templates) and `values`, and the istio ConfigMap's
// `mesh`, written as files into a directory (what istiod mounts, what kube-inject's --*File take).
// Usage: node extract-injector.js <manifest.yaml> <out-dir>
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import process from 'node:process';
import { parseAllDocuments } from 'yaml';

const [manifest, out] = process.argv.slice(2);
const configMaps = new Map();
for (const doc of parseAllDocuments(readFileSync(manifest, 'utf8'))) {
  const o = doc.toJS();
  if (o?.kind === 'ConfigMap') configMaps.set(o.metadata.name, o.data ?? {});
}
const injector = configMaps.get('istio-sidecar-injector');
const mesh = configMaps.get('istio')?.mesh;
if (!injector?.config || !injector?.values || !mesh)
  throw new Error(`${manifest}: no istio-sidecar-injector (config, values) or istio (mesh) ConfigMap`);
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'config'), injector.config);
writeFileSync(join(out, 'values'), injector.values);
writeFileSync(join(out, 'mesh'), mesh);
