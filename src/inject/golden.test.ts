import { existsSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { compileTemplate, injectPod, type Pod, type PolicyInput } from './index.js';

/** The init image the operator would pass; fixed, so that a release's version changes no expectation. */
const initImage = 'ghcr.io/sidecar-operator/sidecar-operator:v0.1.0';

/**
 * Golden cases: `testdata/<case>.in.yaml` holds the pod and how to inject it, `<case>.golden.yaml`
 * the decision, warnings, patch and injected pod. A golden without an input, or an input without a
 * golden, fails. UPDATE_GOLDENS=1 rewrites the goldens (and removes stale ones); review the diff.
 */
const dir = join(import.meta.dirname, 'testdata');
const update = process.env.UPDATE_GOLDENS === '1';

interface Case {
  policy: string;
  nativeSidecars: boolean;
  namespace: string;
  reinject?: boolean;
  pod: Pod;
}

const inputs = readdirSync(dir)
  .filter((f) => f.endsWith('.in.yaml'))
  .map((f) => f.slice(0, -'.in.yaml'.length))
  .sort();
const goldens = readdirSync(dir)
  .filter((f) => f.endsWith('.golden.yaml'))
  .map((f) => f.slice(0, -'.golden.yaml'.length));

function load(name: string): Case {
  return parse(readFileSync(join(dir, `${name}.in.yaml`), 'utf8')) as Case;
}

function policy(name: string): PolicyInput {
  return parse(readFileSync(join(dir, 'policies', `${name}.yaml`), 'utf8')) as PolicyInput;
}

function run(c: Case, pod: Pod) {
  const template = compileTemplate(policy(c.policy), { nativeSidecars: c.nativeSidecars, initImage });
  const ctx = { namespace: c.namespace, operatorNamespace: 'sidecar-system', reinject: c.reinject ?? false };
  return injectPod(pod, template, ctx);
}

describe('golden injection cases', () => {
  it('has a golden for every input and an input for every golden', () => {
    const stale = goldens.filter((g) => !inputs.includes(g));
    if (update) for (const g of stale) unlinkSync(join(dir, `${g}.golden.yaml`));
    else expect(stale, 'goldens without an input (stale)').toEqual([]);
    expect(inputs.length).toBeGreaterThanOrEqual(10);
  });

  for (const name of inputs) {
    it(name, () => {
      const c = load(name);
      const input = structuredClone(c.pod);
      const result = run(c, c.pod);
      expect(c.pod, 'the input is not modified').toEqual(input);
      const actual = stringify(
        { decision: result.decision, warnings: result.warnings, patch: result.patch, pod: result.pod },
        { lineWidth: 0, aliasDuplicateObjects: false },
      );
      const file = join(dir, `${name}.golden.yaml`);
      if (update) writeFileSync(file, actual);
      expect(existsSync(file), `${name}.golden.yaml is missing: run with UPDATE_GOLDENS=1`).toBe(true);
      expect(actual).toBe(readFileSync(file, 'utf8'));

      // Injecting the result again changes nothing.
      const again = run({ ...c, reinject: false }, result.pod);
      expect(again.decision.inject).toBe(false);
      expect(again.patch).toEqual([]);
      expect(again.pod).toBe(result.pod);
      if (result.decision.inject) expect(again.decision.reason).toBe('AlreadyInjected');
      // Even when asked to re-inject: the same revision is left alone.
      expect(run({ ...c, reinject: true }, result.pod).patch).toEqual([]);
    });
  }
});
