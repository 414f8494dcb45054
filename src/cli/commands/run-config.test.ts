import { readFileSync } from 'node:fs';
import { Command, type Option } from 'commander';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CHART_VALUES, DEFAULTS, RUN_FLAGS } from '../../operator/index.js';
import { parseDuration } from '../flags.js';
import { register } from './run.js';

function runOptions(): Option[] {
  const program = new Command();
  register(program);
  // Deprecated spellings are hidden; each stands for a flag of the table.
  return (program.commands.find((c) => c.name() === 'run')!.options as Option[]).filter((o) => !o.hidden);
}

const chart = new URL('../../../charts/sidecar-operator/', import.meta.url);
const values = parse(readFileSync(new URL('values.yaml', chart), 'utf8')) as Record<string, unknown>;
const deployment = readFileSync(new URL('templates/deployment.yaml', chart), 'utf8');

/** Every leaf of values.yaml by dotted path (an empty map or list is a leaf). */
function leaves(v: unknown, prefix = ''): Map<string, unknown> {
  const out = new Map<string, unknown>();
  if (v === null || typeof v !== 'object' || Array.isArray(v) || Object.keys(v).length === 0) {
    out.set(prefix, v);
    return out;
  }
  for (const [k, child] of Object.entries(v)) {
    for (const [p, x] of leaves(child, prefix ? `${prefix}.${k}` : k)) out.set(p, x);
  }
  return out;
}

/** Values that shape the chart's Kubernetes objects and never reach the operator. */
const NOT_OPERATOR_SETTINGS = [
  /^replicaCount$/,
  /^image\./,
  /^imagePullSecrets$/,
  /^(name|fullname)Override$/,
  /^serviceAccount\./,
  /^webhook\.servicePort$/,
  /^certificates\.certManager\./,
  /^resources\./,
  // Node's own settings (NODE_OPTIONS, MALLOC_ARENA_MAX), read by the runtime before the operator.
  /^runtime\./,
  /^podDisruptionBudget\./,
  /^podAntiAffinity$/,
  /^pod(Labels|Annotations)$/,
  /^nodeSelector$/,
  /^tolerations$/,
  /^priorityClassName$/,
  /^metrics\./,
  // Renders a NetworkPolicy.
  /^networkPolicy\./,
  /^uninstall\./,
  /^test\./,
  // Renders a ValidatingAdmissionPolicy; nothing the operator reads.
  /^policyGuard\./,
  /^operatorGuard\./,
  // A Secret mounted as the file --webhook-client-ca reads, and the names --webhook-client-names
  // takes, joined: not a value passed as is (helm.test renders both).
  /^webhook\.clientAuth\./,
];

describe('one configuration object', () => {
  it('maps every flag of run onto a setting, and every setting with a default onto a flag showing it', () => {
    const options = runOptions();
    expect(options.map((o) => o.long?.slice(2)).sort()).toEqual(Object.keys(RUN_FLAGS).sort());
    for (const o of options) {
      const spec = RUN_FLAGS[o.long!.slice(2)]!;
      const value = (DEFAULTS as Record<string, unknown>)[spec.setting];
      expect(o.defaultValue, o.long).toEqual(value);
    }
    const flagged = new Set(Object.values(RUN_FLAGS).map((s) => s.setting));
    for (const setting of Object.keys(DEFAULTS)) expect(flagged.has(setting as never), setting).toBe(true);
  });

  it('passes every chart value that configures the operator to its flag, with the same default', () => {
    const args = [...deployment.matchAll(/^\s*- --([a-z-]+)=\{\{ \.Values\.([\w.]+) \}\}\s*$/gm)];
    const passed = new Map(args.map((m) => [m[2]!, m[1]!]));
    expect(Object.fromEntries(passed)).toEqual(CHART_VALUES);
    for (const [path, value] of leaves(values)) {
      const flag = CHART_VALUES[path];
      if (!flag) {
        expect(
          NOT_OPERATOR_SETTINGS.some((r) => r.test(path)),
          `${path}: pass it to a flag or list it here`,
        ).toBe(true);
        continue;
      }
      const spec = RUN_FLAGS[flag];
      expect(spec, `${path} → --${flag}`).toBeDefined();
      const operatorDefault = (DEFAULTS as Record<string, unknown>)[spec!.setting];
      if (operatorDefault === undefined) continue;
      const chartValue = spec!.kind === 'duration' ? parseDuration(String(value)) : value;
      // The chart says `operator` for what the flag calls `self` (an alias).
      expect(chartValue === 'operator' ? 'self' : chartValue, path).toEqual(operatorDefault);
    }
  });
});
