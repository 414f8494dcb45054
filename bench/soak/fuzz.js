// The soak's fuzzer: a seeded PRNG (mulberry32, so that a SEED replays the same inputs) and 1–3
// mutations of a valid review, of its JSON tree (a changed type, a deleted key, a huge string,
// control characters and lone surrogates, a wrong apiVersion/kind/operation, a giant array) or of its
// text (deep nesting, a duplicated key, truncated or invalid JSON), sometimes an invalid UTF-8 byte.
import { Buffer } from 'node:buffer';

// mulberry32: the same SEED sends the same inputs in the same order.
let state = 1;
/** Starts the sequence over from `n`. */
export function seed(n) {
  state = n >>> 0;
}
export function rand() {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
export const int = (n) => Math.floor(rand() * n);
export const pick = (xs) => xs[int(xs.length)];
const isObject = (o) => o !== null && typeof o === 'object' && !Array.isArray(o);
/** A random [parent, key] of the tree, or a harmless one when the tree has none left. */
const slot = (doc) => pick(slots(doc)) ?? [doc, 'x'];
/** Sizes spread over orders of magnitude, up to `max`. */
const size = (max) => Math.floor(Math.exp(rand() * Math.log(max)));

const WEIRD = [
  '\u0000',
  '\u0007',
  '\u001b[2J',
  '\ud800',
  '\udfff',
  '\u202e',
  '\ufeff',
  'é',
  '𝕏',
  '\n\r\t',
  '"',
  '\\',
];
const randomValue = (depth = 0) => {
  switch (int(depth > 2 ? 4 : 6)) {
    case 0:
      return null;
    case 1:
      return pick([0, -1, 1e308, -0.5, 2 ** 53 + 1, true, false]);
    case 2:
      return pick(['', 'x', '-', 'Pod', '0', 'null', WEIRD.join('')]);
    case 3:
      return pick(WEIRD).repeat(1 + int(64));
    case 4:
      return Array.from({ length: int(4) }, () => randomValue(depth + 1));
    default:
      return Object.fromEntries(Array.from({ length: int(4) }, (_, i) => [`f${i}`, randomValue(depth + 1)]));
  }
};
/** Every [parent, key] of the tree, so a mutation can land anywhere. */
function slots(node, out = []) {
  if (node && typeof node === 'object')
    for (const k of Object.keys(node)) {
      out.push([node, k]);
      slots(node[k], out);
    }
  return out;
}
const treeMutations = {
  'change a type': (doc) => {
    const [p, k] = slot(doc);
    const v = p[k];
    p[k] = pick(
      [
        typeof v === 'string' ? Number(v.length) : String(JSON.stringify(v) ?? '').slice(0, 200),
        Array.isArray(v) ? Object.assign({}, v) : [v],
        null,
        randomValue(),
      ].filter((x) => x !== v),
    );
  },
  'delete a key': (doc) => {
    const [p, k] = slot(doc);
    if (Array.isArray(p)) p.splice(Number(k), 1);
    else delete p[k];
  },
  'a huge string': (doc) => {
    const [p, k] = slot(doc);
    p[k] = pick(['a', 'é', '\u0000', '𝕏', ':', ',', '[']).repeat(size(1_000_000)).slice(0, 1_000_000);
  },
  'control characters and surrogates': (doc) => {
    const strings = slots(doc).filter(([p, k]) => typeof p[k] === 'string');
    for (let i = 1 + int(4); i > 0 && strings.length; i--) {
      const [p, k] = pick(strings);
      const at = int(p[k].length + 1);
      p[k] = p[k].slice(0, at) + pick(WEIRD) + p[k].slice(at);
    }
  },
  'wrong apiVersion or kind': (doc) => {
    const target = pick([doc, doc.request?.object, doc.request?.kind].filter(isObject));
    target[pick(['apiVersion', 'kind', 'version'])] = pick([
      'admission.k8s.io/v1beta1',
      'v2',
      'AdmissionResponse',
      'Deployment',
      '',
      42,
      null,
    ]);
    if (rand() < 0.3 && isObject(doc.request))
      doc.request.operation = pick(['DELETE', 'CONNECT', 'UPDATE', 'create', 7]);
  },
  'giant array': (doc) => {
    const pod = doc.request?.object;
    const first = Array.isArray(pod?.spec?.containers) ? pod.spec.containers[0] : undefined;
    if (!isObject(first)) return;
    const n = size(200_000);
    if (rand() < 0.5)
      pod.spec.containers = Array.from({ length: n }, (_, i) => ({ name: `c${i}`, image: 'i' }));
    else first.env = Array.from({ length: n }, (_, i) => ({ name: `V${i}`, value: 'v' }));
  },
};
const textMutations = {
  'deep nesting': (text) => {
    const d = size(200_000);
    const [o, c] = rand() < 0.5 ? ['[', ']'] : ['{"a":', '}'];
    return text.replace(/"dryRun":false|"serviceAccountName":"web"/, `"x":${o.repeat(d)}1${c.repeat(d)}`);
  },
  'duplicate a key': (text) => {
    const m = [...text.slice(0, 20_000).matchAll(/"(\w+)":("[^"]*"|\d+|true|false|null)/g)];
    if (!m.length) return text;
    const hit = pick(m);
    const dup = `${hit[0]},"${hit[1]}":${JSON.stringify(randomValue())}`;
    return text.slice(0, hit.index) + dup + text.slice(hit.index + hit[0].length);
  },
  truncated: (text) => text.slice(0, int(text.length)),
  'invalid JSON': (text) => {
    const at = int(text.length);
    return (
      text.slice(0, at) + pick(['}', ']', ',', ':', '"', 'NaN', "'", '\\x', '/*', '\u0000']) + text.slice(at)
    );
  },
};
const mutationNames = [...Object.keys(treeMutations), ...Object.keys(textMutations)];
export const mutationCounts = Object.fromEntries(mutationNames.map((n) => [n, 0]));

/** `text` (a valid review) fuzzed, as bytes (sometimes not valid UTF-8). */
export function fuzzBody(text) {
  const doc = JSON.parse(text);
  const chosen = Array.from({ length: 1 + int(3) }, () => pick(mutationNames));
  for (const m of chosen.filter((m) => treeMutations[m])) treeMutations[m](doc);
  let out = JSON.stringify(doc);
  for (const m of chosen.filter((m) => textMutations[m])) out = textMutations[m](out);
  for (const m of chosen) mutationCounts[m]++;
  const bytes = Buffer.from(out);
  if (rand() < 0.03) bytes[int(bytes.length)] = pick([0xff, 0xc0, 0x80, 0xfe]);
  return bytes;
}
