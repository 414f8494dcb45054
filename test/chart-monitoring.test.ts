import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import type { OperatorHandle } from '../src/operator/index.js';
import { shortId, startTestOperator } from './controller-support.js';
import { envtest, testNamespace } from './support.js';

/**
 * The chart's PrometheusRule and Grafana dashboard, checked with Prometheus' own parsers
 * (hack/promql-check: `promtool check rules`' rule-file validation and the PromQL parser), and
 * every metric they select checked against what a running operator's /metrics exposes.
 */

const ROOT = join(import.meta.dirname, '..');
const CHART = join(ROOT, 'charts', 'sidecar-operator');
const EVERY_OPTION = join(CHART, 'ci', 'every-option-values.yaml');
const RELEASE = 'mon';
const NS = 'monitoring-test';
const dir = mkdtempSync(join(tmpdir(), 'chart-monitoring-'));
let operator: OperatorHandle;
let exported: Set<string>;

interface RulesVerdict {
  file: string;
  groups: number;
  rules: number;
  errors: string[];
  metrics: string[];
}
interface ExprVerdict {
  expr: string;
  error?: string;
  metrics: string[];
}
type Doc = {
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
} & Record<string, unknown>;
interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

function checker(): string {
  const tool = inject('promqlCheck');
  if (!tool.path) throw new Error(tool.error ?? 'the global setup built no promql-check');
  return tool.path;
}

function helmTemplate(...args: string[]): Promise<Doc[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(envtest().binaries.helm, ['template', RELEASE, CHART, '--namespace', NS, ...args]);
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`helm template exited ${code}: ${err}`));
      resolve(
        parseAllDocuments(out)
          .map((d) => d.toJS() as Doc | null)
          .filter((d): d is Doc => d !== null),
      );
    });
  });
}

/** `promtool check rules` on the PrometheusRule's spec (the rule file it stands for). */
function checkRules(spec: unknown, label: string): { status: number | null; verdict: RulesVerdict } {
  const file = join(dir, `${label}.rules.yaml`);
  writeFileSync(file, stringify(spec));
  const r = spawnSync(checker(), ['rules', file], { encoding: 'utf8' });
  if (r.status !== 0 && r.status !== 1) throw new Error(`promql-check exited ${r.status}: ${r.stderr}`);
  return { status: r.status, verdict: JSON.parse(r.stdout) as RulesVerdict };
}

function checkExprs(exprs: string[]): ExprVerdict[] {
  const r = spawnSync(checker(), ['exprs'], { input: JSON.stringify(exprs), encoding: 'utf8' });
  if (r.status !== 0 && r.status !== 1) throw new Error(`promql-check exited ${r.status}: ${r.stderr}`);
  return r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as ExprVerdict);
}

interface EvalVerdict {
  expr: string;
  error?: string;
  samples: { labels: Record<string, string>; value: number | null }[];
}

/** Each expression evaluated by Prometheus' engine at `at` over `series` (promtool's notation, 1m apart). */
function evaluate(series: Record<string, string>, at: string, exprs: string[]): EvalVerdict[] {
  const input = JSON.stringify({ interval: '1m', series, at, exprs });
  const r = spawnSync(checker(), ['eval'], { input, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`promql-check eval exited ${r.status}: ${r.stderr}${r.stdout}`);
  return r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as EvalVerdict);
}

function scrape(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/metrics' }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The series names an exposition declares: `# TYPE` lines, a histogram with its three series. */
function seriesNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, name, type] = m as unknown as [string, string, string];
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name + s);
    else names.add(name);
  }
  return names;
}

/** GitHub's anchors of the headings of a Markdown file. */
function anchors(file: string): Set<string> {
  const text = readFileSync(file, 'utf8');
  return new Set(
    [...text.matchAll(/^#+ (.+)$/gm)].map((m) =>
      m[1]!
        .trim()
        .toLowerCase()
        .replace(/[^\w\- ]/g, '')
        .replace(/ /g, '-'),
    ),
  );
}

const rulesOf = (spec: { groups: { rules: Rule[] }[] }): Rule[] => spec.groups.flatMap((g) => g.rules);

beforeAll(async () => {
  // What the operator really exports: a running operator's /metrics (the per-policy gauges and the
  // controller's are registered at start, without series until there are policies).
  const ns = await testNamespace('monitoring-op');
  operator = await startTestOperator(ns, shortId(), {
    leaderElect: false,
    metricsPort: 0,
    metricsAuth: 'none',
  });
  exported = seriesNames(await scrape(operator.metricsPort!));
});

afterAll(async () => {
  await operator?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('PrometheusRule', () => {
  it('is not rendered by default', async () => {
    const kinds = (await helmTemplate()).map((d) => d.kind);
    expect(kinds).not.toContain('PrometheusRule');
  });

  it('passes the rule-file check, selects only exported metrics, and links each alert to its runbook', async () => {
    const docs = await helmTemplate('--set', 'metrics.prometheusRule.enabled=true');
    const rule = docs.find((d) => d.kind === 'PrometheusRule')!;
    expect(rule.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(rule.metadata.namespace).toBe(NS);
    const spec = rule.spec as { groups: { rules: Rule[] }[] };
    const { status, verdict } = checkRules(spec, 'default');
    expect(verdict.errors).toEqual([]);
    expect(status).toBe(0);
    expect(verdict.rules).toBe(5);
    const rules = rulesOf(spec);
    expect(rules.map((r) => r.alert)).toEqual([
      'SidecarOperatorWebhookDown',
      'SidecarOperatorCertificateExpiringSoon',
      'SidecarPolicyNotReady',
      'SidecarPolicyOutdatedPods',
      'SidecarWebhookAdmissionLatencyHigh',
    ]);
    expect(verdict.metrics.length).toBeGreaterThan(0);
    expect(verdict.metrics.filter((m) => !exported.has(m))).toEqual([]);
    const docsAnchors = anchors(join(ROOT, 'docs', 'alerts.md'));
    for (const r of rules) {
      expect(r.expr, r.alert).toContain(`job="${RELEASE}-sidecar-operator", namespace="${NS}"`);
      expect(r.labels?.severity, r.alert).toMatch(/^(critical|warning|info)$/);
      expect(r.annotations?.summary, r.alert).toBeTruthy();
      expect(r.annotations?.description, r.alert).toBeTruthy();
      const anchor = r.annotations?.runbook_url?.split('#')[1];
      expect(anchor, r.alert).toBe(r.alert.toLowerCase());
      expect(docsAnchors.has(anchor!), `docs/alerts.md has a heading for ${r.alert}`).toBe(true);
    }
    const by = (a: string) => rules.find((r) => r.alert === a)!;
    expect(by('SidecarPolicyNotReady').for).toBe('10m');
    expect(by('SidecarPolicyOutdatedPods').for).toBe('24h');
    expect(by('SidecarOperatorCertificateExpiringSoon').expr).toMatch(/< 604800$/);
    expect(by('SidecarWebhookAdmissionLatencyHigh').expr).toMatch(/> 0\.5$/);
  });

  it('takes its thresholds, labels and namespace from values', async () => {
    const docs = await helmTemplate(
      '--values',
      EVERY_OPTION,
      '--set',
      'metrics.prometheusRule.namespace=monitoring',
      '--set',
      'metrics.prometheusRule.selector=service="so"',
    );
    const rule = docs.find((d) => d.kind === 'PrometheusRule')!;
    expect(rule.metadata.namespace).toBe('monitoring');
    expect(rule.metadata.labels?.release).toBe('prometheus');
    const spec = rule.spec as { groups: { rules: Rule[] }[] };
    const { status, verdict } = checkRules(spec, 'every-option');
    expect(verdict.errors).toEqual([]);
    expect(status).toBe(0);
    const by = (a: string) => rulesOf(spec).find((r) => r.alert === a)!;
    expect(by('SidecarOperatorCertificateExpiringSoon').expr).toMatch(/\{service="so"\}\) < 1209600$/);
    expect(by('SidecarPolicyNotReady').for).toBe('15m');
    expect(by('SidecarPolicyOutdatedPods')).toMatchObject({ for: '2d', labels: { team: 'platform' } });
    expect(by('SidecarPolicyOutdatedPods').expr).toContain('{service="so", state="outdated"}');
    expect(by('SidecarWebhookAdmissionLatencyHigh').expr).toMatch(/> 0\.25$/);
  });

  it('each alert fires on the series it is for, and none on a healthy operator', async () => {
    const docs = await helmTemplate('--set', 'metrics.prometheusRule.enabled=true');
    const rules = rulesOf(
      docs.find((d) => d.kind === 'PrometheusRule')!.spec as { groups: { rules: Rule[] }[] },
    );
    const exprs = rules.map((r) => r.expr);
    // As Prometheus labels what the chart's ServiceMonitor scrapes; one hour of samples a minute apart.
    const series = (name: string, labels: Record<string, string>, values: string) => {
      const all = { job: `${RELEASE}-sidecar-operator`, namespace: NS, ...labels };
      return [
        `${name}{${Object.entries(all)
          .map(([k, v]) => `${k}="${v}"`)
          .join(',')}}`,
        values,
      ] as const;
    };
    const latency = (fast: string, slow: string) => [
      series(
        'sidecar_webhook_admission_duration_seconds_bucket',
        { pod: 'a', result: 'injected', le: '0.005' },
        fast,
      ),
      series(
        'sidecar_webhook_admission_duration_seconds_bucket',
        { pod: 'a', result: 'injected', le: '0.5' },
        fast,
      ),
      series(
        'sidecar_webhook_admission_duration_seconds_bucket',
        { pod: 'a', result: 'injected', le: '1' },
        slow,
      ),
      series(
        'sidecar_webhook_admission_duration_seconds_bucket',
        { pod: 'a', result: 'injected', le: '+Inf' },
        slow,
      ),
    ];
    const healthy = Object.fromEntries([
      series('sidecar_webhook_ready', { pod: 'a' }, '1x60'),
      series('sidecar_webhook_ready', { pod: 'b' }, '1x60'),
      series('sidecar_certificate_expiry_seconds', { pod: 'a', kind: 'leaf' }, '2592000-60x60'),
      series('sidecar_certificate_expiry_seconds', { pod: 'a', kind: 'ca' }, '20000000-60x60'),
      series('sidecar_policy_ready', { pod: 'a', policy: 'mesh' }, '1x60'),
      series('sidecar_policy_pods', { pod: 'a', policy: 'mesh', state: 'outdated' }, '0x60'),
      ...latency('0+100x60', '0+100x60'),
    ]);
    const verdicts = evaluate(healthy, '60m', exprs);
    expect(verdicts.filter((v) => v.error)).toEqual([]);
    expect(verdicts.filter((v) => v.samples.length > 0).map((v) => v.expr)).toEqual([]);

    const broken = Object.fromEntries([
      series('sidecar_webhook_ready', { pod: 'a' }, '0x60'),
      series('sidecar_certificate_expiry_seconds', { pod: 'a', kind: 'leaf' }, '259200-60x60'),
      series('sidecar_certificate_expiry_seconds', { pod: 'a', kind: 'ca' }, '20000000-60x60'),
      series('sidecar_policy_ready', { pod: 'a', policy: 'mesh' }, '1x60'),
      series('sidecar_policy_ready', { pod: 'a', policy: 'edge' }, '0x60'),
      series('sidecar_policy_pods', { pod: 'a', policy: 'mesh', state: 'outdated' }, '2x60'),
      series('sidecar_policy_pods', { pod: 'a', policy: 'edge', state: 'outdated' }, '0x60'),
      // 10% of reviews under 5 ms, the rest between 0.5 s and 1 s.
      ...latency('0+10x60', '0+100x60'),
    ]);
    const firing = Object.fromEntries(
      evaluate(broken, '60m', exprs).map((v, i) => [rules[i]!.alert, v.samples.map((x) => x.labels)]),
    );
    expect(firing).toEqual({
      SidecarOperatorWebhookDown: [{}],
      SidecarOperatorCertificateExpiringSoon: [{ kind: 'leaf' }],
      SidecarPolicyNotReady: [{ policy: 'edge' }],
      SidecarPolicyOutdatedPods: [{ policy: 'mesh' }],
      SidecarWebhookAdmissionLatencyHigh: [{}],
    });
    // Nothing scraped at all (the Service has no endpoints): the webhook is down, nothing else is said.
    const nothing = evaluate({ 'up{job="other"}': '1x60' }, '60m', exprs).map((v) => v.samples.length);
    expect(nothing).toEqual([1, 0, 0, 0, 0]);
  });

  it('refuses values Prometheus would not take', async () => {
    // Go-style fractions are fine elsewhere in the chart, not in a rule's `for`.
    await expect(helmTemplate('--set', 'metrics.prometheusRule.outdatedPodsFor=1.5h')).rejects.toThrow(
      /outdatedPodsFor/,
    );
    await expect(helmTemplate('--set', 'metrics.prometheusRule.certificateExpiryDays=0')).rejects.toThrow(
      /certificateExpiryDays/,
    );
  });

  it('the check is real: a broken selector fails it', async () => {
    const docs = await helmTemplate(
      '--set',
      'metrics.prometheusRule.enabled=true',
      '--set-string',
      'metrics.prometheusRule.selector=job="x',
    );
    const { status, verdict } = checkRules(docs.find((d) => d.kind === 'PrometheusRule')!.spec, 'broken');
    expect(status).toBe(1);
    expect(verdict.errors.join('\n')).toMatch(/could not parse expression/);
  });
});

describe('Grafana dashboard', () => {
  const file = join(CHART, 'dashboards', 'sidecar-operator.json');
  interface Panel {
    type: string;
    title: string;
    targets?: { expr: string }[];
    panels?: Panel[];
  }
  const dashboard = JSON.parse(readFileSync(file, 'utf8')) as {
    uid: string;
    title: string;
    schemaVersion: number;
    panels: Panel[];
    templating: { list: { name: string; definition?: string }[] };
  };
  const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.type !== 'row');
  // Grafana's variables, replaced as Grafana would before the query reaches Prometheus.
  const resolve = (e: string) =>
    e.replaceAll('$__rate_interval', '1m').replaceAll('$namespace', 'ns').replaceAll('$job', 'job');

  it('is a dashboard: uid, title, schemaVersion, panels with queries', () => {
    expect(dashboard.uid).toBe('sidecar-operator');
    expect(dashboard.title).toBeTruthy();
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(panels.length).toBeGreaterThanOrEqual(10);
    for (const p of panels) expect(p.targets?.length, p.title).toBeGreaterThan(0);
  });

  it('every panel query parses as PromQL and selects only exported metrics', () => {
    const exprs = panels.flatMap((p) => p.targets!.map((t) => resolve(t.expr)));
    const verdicts = checkExprs(exprs);
    expect(verdicts.filter((v) => v.error)).toEqual([]);
    expect(verdicts).toHaveLength(exprs.length);
    const used = new Set(verdicts.flatMap((v) => v.metrics));
    expect([...used].filter((m) => !exported.has(m))).toEqual([]);
    // The per-policy gauges are what the dashboard is for.
    for (const m of ['sidecar_policy_ready', 'sidecar_policy_pods', 'sidecar_policy_conflict'])
      expect(used.has(m), m).toBe(true);
    for (const v of dashboard.templating.list.filter((x) => x.definition)) {
      const metricName = /^label_values\((\w+)/.exec(v.definition!)?.[1];
      expect(exported.has(metricName ?? ''), v.name).toBe(true);
    }
  });

  it('ships as a ConfigMap labeled for the Grafana sidecar only when enabled, holding the file as is', async () => {
    expect(
      (await helmTemplate()).filter((d) => d.kind === 'ConfigMap' && d.metadata.name.endsWith('-dashboard')),
    ).toEqual([]);
    const docs = await helmTemplate('--values', EVERY_OPTION);
    const cm = docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name === 'mesh-operator-dashboard')!;
    expect(cm.metadata.labels?.grafana_dashboard).toBe('1');
    expect((cm.metadata as { annotations?: Record<string, string> }).annotations?.grafana_folder).toBe(
      'Service mesh',
    );
    expect((cm.data as Record<string, string>)['sidecar-operator.json']).toBe(
      readFileSync(file, 'utf8').trimEnd(),
    );
  });
});
