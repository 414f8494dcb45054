import { NEVER_INJECTED_NAMESPACES, withDefaults } from '../api/index.js';
import { compileTemplate, type CompiledTemplate, type PolicyInput } from '../inject/index.js';
import { templateSize, MAX_TEMPLATE_BYTES } from '../render/injector-configmap.js';
import { fail, pass, warn, type CheckResult } from './check.js';

/** A policy file as read (schema and CEL rules already applied by the reader). */
export interface PolicyFileInputs {
  file: string;
  /** The schema's and CEL rules' complaints; empty when `policy` is set. */
  problems: string[];
  policy?: PolicyInput;
  /** sidecar-init's image when the policy names none (the operator's own). */
  initImage: string;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN =
  /^(?:localhost|[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*)(?::\d+)?$/;
const TAG = /^\w[\w.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;

/**
 * Why an image reference is wrong (`invalid`) or loose (`unpinned`), read as the kubelet reads
 * `[registry[:port]/]path[:tag][@digest]`: the first segment is a registry only when it has a dot,
 * a port or is localhost; path segments are lower case.
 */
export function imageProblem(image: string): { invalid?: string; unpinned?: string } {
  const bad = { invalid: `${image} is not an image reference` };
  const [named, digest, ...rest] = image.split('@');
  if (rest.length > 0 || named === undefined || (digest !== undefined && !DIGEST.test(digest))) return bad;
  const segments = named.split('/');
  const first = segments[0] ?? '';
  if (segments.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    if (!DOMAIN.test(first)) return bad;
    segments.shift();
  }
  const last = segments.pop() ?? '';
  const [repo, tag, ...more] = last.split(':');
  if (more.length > 0 || repo === undefined || (tag !== undefined && !TAG.test(tag))) return bad;
  if (![...segments, repo].every((c) => COMPONENT.test(c))) return bad;
  if (digest !== undefined) return {};
  if (tag === undefined) return { unpinned: `${image} has no tag (it means :latest)` };
  if (tag === 'latest') return { unpinned: `${image} is :latest` };
  return {};
}

function selectorCheck(name: string, p: PolicyInput): CheckResult {
  const sel = p.spec.selector;
  const at = `policy-selector:${name}`;
  const never = (sel.namespaces ?? []).filter((n) => NEVER_INJECTED_NAMESPACES.includes(n));
  const nsSel = sel.namespaceSelector;
  const istio = p.spec.compatibility?.istioNamespaceLabels === true;
  if ((sel.namespaces ?? []).length === 0 && nsSel === undefined && !istio)
    return warn(
      'SO191',
      at,
      'selects no namespace: no spec.selector.namespaces, namespaceSelector or compatibility.istioNamespaceLabels',
      'list the namespaces in spec.selector.namespaces, or label them for a namespaceSelector',
    );
  if (
    nsSel !== undefined &&
    Object.keys(nsSel.matchLabels ?? {}).length === 0 &&
    (nsSel.matchExpressions ?? []).length === 0
  )
    return warn(
      'SO192',
      at,
      'spec.selector.namespaceSelector is empty: it selects every namespace but the system ones and the operator’s',
      'give the namespaceSelector a label to match, or list the namespaces',
    );
  if (never.length > 0)
    return warn(
      'SO196',
      at,
      `names ${never.join(', ')}, which ${never.length > 1 ? 'are' : 'is'} never injected`,
      'remove it from spec.selector.namespaces',
    );
  const parts = [
    ...((sel.namespaces ?? []).length > 0 ? [`namespaces ${sel.namespaces!.join(', ')}`] : []),
    ...(nsSel !== undefined ? ['a namespaceSelector'] : []),
    ...(istio ? ['Istio’s namespace labels'] : []),
  ];
  const pods = sel.podSelector !== undefined ? ', pods by a podSelector' : ', every pod in them';
  return pass(at, `selects ${parts.join(' and ')}${pods}`);
}

function imageChecks(name: string, p: PolicyInput, initImage: string): CheckResult {
  const spec = withDefaults(p.spec);
  const images: [string, string][] = [
    ['proxy', spec.proxy.image],
    ['sidecar-init', p.spec.init?.image ?? initImage],
  ];
  const at = `policy-images:${name}`;
  const invalid = images.flatMap(([w, i]) => {
    const x = imageProblem(i).invalid;
    return x ? [`${w}: ${x}`] : [];
  });
  if (invalid.length > 0)
    return fail('SO194', at, invalid.join('; '), 'write [registry[:port]/]name:tag or name@sha256:<digest>');
  const loose = images.flatMap(([w, i]) => {
    const x = imageProblem(i).unpinned;
    return x ? [`${w}: ${x}`] : [];
  });
  if (loose.length > 0)
    return warn(
      'SO193',
      at,
      `${loose.join('; ')}: pods injected on different days may run different images`,
      'pin a tag or a digest',
    );
  return pass(at, images.map(([w, i]) => `${w} ${i}`).join(', '));
}

function capabilitiesCheck(name: string, p: PolicyInput): CheckResult {
  const at = `policy-capabilities:${name}`;
  const mode = withDefaults(p.spec).interception.mode;
  if (mode === 'None') return pass(at, 'interception mode None: sidecar-init adds no capability');
  return pass(
    at,
    `interception mode ${mode}: sidecar-init runs with NET_ADMIN and NET_RAW, which namespaces enforcing Pod Security baseline or restricted refuse (doctor -n <namespace> checks a namespace's level)`,
  );
}

function sizeCheck(name: string, t: CompiledTemplate): CheckResult {
  const at = `policy-size:${name}`;
  const { bytes, tooLarge } = templateSize(t);
  if (tooLarge)
    return fail(
      'SO195',
      at,
      `the rendered template is ${bytes} bytes, more than the ${MAX_TEMPLATE_BYTES} allowed per policy: the operator would not write it`,
      'shorten proxy env values, args, command, bootstrap.template, volumes or selectors',
    );
  return pass(at, `the rendered template is ${bytes} bytes (at most ${MAX_TEMPLATE_BYTES})`);
}

/** What can be told of a policy file without a cluster: valid, compiles, selects, images, capabilities, size. */
export function checkPolicyFile(inputs: PolicyFileInputs): CheckResult[] {
  const p = inputs.policy;
  if (!p)
    return [
      fail(
        'SO190',
        `policy-file:${inputs.file}`,
        `not a valid SidecarPolicy (the API server would refuse it): ${inputs.problems.join('; ')}`,
        'correct each field named; sidecar-operator inject --policy checks the same rules',
      ),
    ];
  const name = p.metadata?.name ?? '';
  const out = [
    pass(`policy-file:${inputs.file}`, `SidecarPolicy ${name} passes the CRD's schema and CEL rules`),
  ];
  const images = imageChecks(name, p, inputs.initImage);
  out.push(selectorCheck(name, p), images, capabilitiesCheck(name, p));
  // An invalid image is what compiling would refuse too: said once, by the images check.
  if (images.status === 'fail') return out;
  let template: CompiledTemplate;
  try {
    template = compileTemplate(p, { nativeSidecars: true, initImage: inputs.initImage });
  } catch (err) {
    return [...out, fail('SO197', `policy-compile:${name}`, `does not compile: ${(err as Error).message}`)];
  }
  out.push(sizeCheck(name, template));
  return out;
}
