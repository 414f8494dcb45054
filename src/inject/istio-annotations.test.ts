import { describe, expect, it } from 'vitest';
import {
  istioAnnotationProblems,
  istioInjectIntent,
  istioTemplatesWithoutSidecar,
} from './istio-annotations.js';

const problems = (name: string, value: string) => istioAnnotationProblems({ [name]: value });

describe('istioAnnotationProblems (Istio’s grammar)', () => {
  it.each([
    ['traffic.sidecar.istio.io/includeOutboundIPRanges', '*'],
    ['traffic.sidecar.istio.io/includeOutboundIPRanges', ''],
    ['traffic.sidecar.istio.io/includeOutboundIPRanges', '127.0.0.1/24,10.96.0.1/24'],
    ['traffic.sidecar.istio.io/excludeOutboundIPRanges', '10.96.0.2/24,fd00::/8'],
    ['traffic.sidecar.istio.io/excludeOutboundIPRanges', '::ffff:10.0.0.1/128'],
    ['traffic.sidecar.istio.io/includeInboundPorts', '*'],
    ['traffic.sidecar.istio.io/includeInboundPorts', ''],
    ['traffic.sidecar.istio.io/includeInboundPorts', ' 1, 2,3 '],
    ['traffic.sidecar.istio.io/excludeInboundPorts', '0,65535'],
    ['traffic.sidecar.istio.io/excludeOutboundPorts', '080'],
    ['sidecar.istio.io/interceptionMode', 'NONE'],
    ['sidecar.istio.io/proxyCPU', '4000m'],
    ['sidecar.istio.io/proxyMemoryLimit', '1Gi'],
    ['status.sidecar.istio.io/port', '0'],
    ['readiness.status.sidecar.istio.io/periodSeconds', '007'],
    ['traffic.sidecar.istio.io/excludeInterfaces', 'eth1, net1.2'],
    ['prometheus.istio.io/merge-metrics', 'True'],
  ])('%s: %j is valid', (name, value) => {
    expect(problems(name, value)).toEqual([]);
  });

  it.each([
    // The shapes of Istio's traffic-annotations-bad-* inputs.
    ['traffic.sidecar.istio.io/includeOutboundIPRanges', 'bad', 'is not a CIDR'],
    ['traffic.sidecar.istio.io/excludeOutboundIPRanges', '*', 'is not a CIDR'],
    ['traffic.sidecar.istio.io/includeInboundPorts', 'bad', 'is not a port number'],
    ['traffic.sidecar.istio.io/excludeInboundPorts', '*', 'is not a port number'],
    ['traffic.sidecar.istio.io/excludeOutboundPorts', 'bad', 'is not a port number'],
    // What netip.ParsePrefix and strconv.ParseUint refuse, and we would otherwise take.
    ['traffic.sidecar.istio.io/includeOutboundIPRanges', '*,10.0.0.0/8', 'is not a CIDR'],
    ['traffic.sidecar.istio.io/includeOutboundIPRanges', '10.0.0.1', 'is not a CIDR'],
    ['traffic.sidecar.istio.io/includeOutboundIPRanges', '10.0.0.0/8, 10.1.0.0/16', 'is not a CIDR'],
    ['traffic.sidecar.istio.io/includeOutboundIPRanges', '10.0.0.0/8,', 'is not a CIDR'],
    ['traffic.sidecar.istio.io/includeOutboundIPRanges', '010.0.0.0/8', 'is not a CIDR'],
    ['traffic.sidecar.istio.io/includeOutboundIPRanges', '10.0.0.0/08', 'invalid prefix length'],
    ['traffic.sidecar.istio.io/includeOutboundIPRanges', '10.0.0.0/33', 'invalid prefix length'],
    ['traffic.sidecar.istio.io/includeOutboundIPRanges', 'fe80::1%eth0/64', 'is not a CIDR'],
    ['traffic.sidecar.istio.io/excludeInboundPorts', '1,,2', 'is not a port number'],
    ['traffic.sidecar.istio.io/excludeInboundPorts', '65536', 'is not a port number'],
    ['traffic.sidecar.istio.io/excludeInboundPorts', '-1', 'is not a port number'],
    ['sidecar.istio.io/interceptionMode', 'redirect', 'is not REDIRECT, TPROXY or NONE'],
    ['sidecar.istio.io/proxyCPU', ' 100m', 'is not a resource quantity'],
    ['sidecar.istio.io/proxyMemory', '128Mi\n', 'is not a resource quantity'],
    ['status.sidecar.istio.io/port', 'http', 'is not a port number'],
    ['readiness.status.sidecar.istio.io/failureThreshold', '-3', 'is not an unsigned 32-bit integer'],
    ['readiness.status.sidecar.istio.io/initialDelaySeconds', '4294967296', 'unsigned 32-bit'],
    ['traffic.sidecar.istio.io/kubevirtInterfaces', 'net1,,net2', 'empty'],
    ['traffic.sidecar.istio.io/excludeInterfaces', 'averyveryverylongname', 'longer than 15'],
    ['istio.io/reroute-virtual-interfaces', '1eth', 'invalid characters'],
    ['prometheus.istio.io/merge-metrics', 'yes', 'is not a boolean'],
  ])('%s: %j is refused', (name, value, why) => {
    const out = problems(name, value);
    expect(out).toHaveLength(1);
    expect(out[0]).toContain(`invalid value ${JSON.stringify(value)} for annotation ${name}: `);
    expect(out[0]).toContain(why);
  });

  it('reports every malformed annotation, by name, and nothing of others', () => {
    const out = istioAnnotationProblems({
      'traffic.sidecar.istio.io/excludeOutboundPorts': 'bad',
      'sidecar.istio.io/proxyCPU': 'lots',
      'proxy.istio.io/config': 'not: [yaml',
      'example.com/ports': 'bad',
    });
    expect(out.map((p) => p.split(': ')[0])).toEqual([
      'invalid value "lots" for annotation sidecar.istio.io/proxyCPU',
      'invalid value "bad" for annotation traffic.sidecar.istio.io/excludeOutboundPorts',
    ]);
  });

  it('quotes a long value cut short', () => {
    const [p] = problems('traffic.sidecar.istio.io/excludeInboundPorts', 'x'.repeat(100_000));
    expect(p!.length).toBeLessThan(300);
  });
});

describe('istioInjectIntent', () => {
  it.each([
    [{ 'sidecar.istio.io/inject': 'false' }, {}, false, 'label sidecar.istio.io/inject=false'],
    [{}, { 'sidecar.istio.io/inject': 'true' }, true, 'annotation sidecar.istio.io/inject=true'],
    // The label wins, as in Istio, even over an annotation that says the opposite.
    [{ 'sidecar.istio.io/inject': 'true' }, { 'sidecar.istio.io/inject': 'false' }, true, 'label'],
  ])('labels %j, annotations %j: %s', (labels, annotations, value, source) => {
    expect(istioInjectIntent(labels, annotations)).toMatchObject({ value });
    expect(istioInjectIntent(labels, annotations)?.source).toContain(source);
  });

  it.each(['True', 'yes', 'no', 'FALSE', ''])('takes %j as no answer, as Istio does', (v) => {
    expect(istioInjectIntent({}, { 'sidecar.istio.io/inject': v })).toBeUndefined();
    expect(istioInjectIntent({ 'sidecar.istio.io/inject': v }, {})).toBeUndefined();
  });

  it('a label Istio does not understand still hides the annotation', () => {
    const labels = { 'sidecar.istio.io/inject': 'enabled' };
    expect(istioInjectIntent(labels, { 'sidecar.istio.io/inject': 'false' })).toBeUndefined();
  });
});

describe('istioTemplatesWithoutSidecar', () => {
  it.each([
    ['grpc-simple', true],
    ['custom', true],
    ['grpc-agent', true],
    ['sidecar', false],
    ['sidecar,sidecar,sidecar', false],
    ['sidecar, spire', false],
    ['', false],
  ])('%j: no sidecar? %s', (value, none) => {
    const why = istioTemplatesWithoutSidecar({ 'inject.istio.io/templates': value });
    expect(why !== undefined).toBe(none);
  });
});
