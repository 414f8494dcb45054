import { describe, expect, it } from 'vitest';
import { BOOTSTRAP_NAMES, renderBootstrap, type BootstrapParams } from './bootstrap.js';

const base: BootstrapParams = {
  policy: 'mesh',
  mode: 'REDIRECT',
  outboundPort: 15001,
  inboundPort: 15006,
  adminPort: 15000,
  healthPort: 15021,
  metricsPort: 15090,
  tproxyMark: 1337,
};

// Envoy's configuration as plain JSON: the tests walk it freely.
type Any = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function listener(b: Any, name: string): Any {
  const l = (b.static_resources.listeners as Any[]).find((x) => x.name === name);
  if (!l) throw new Error(`no listener ${name}`);
  return l;
}

function cluster(b: Any, name: string): Any {
  const c = (b.static_resources.clusters as Any[]).find((x) => x.name === name);
  if (!c) throw new Error(`no cluster ${name}`);
  return c;
}

/** The bootstrap, typed for walking. */
const render = (p: BootstrapParams): Any => renderBootstrap(p);

const port = (l: Any): number => l.address.socket_address.port_value;
const filterTypes = (l: Any): string[] =>
  (l.listener_filters ?? []).map((f: Any) => String(f.typed_config['@type']).split('.').at(-1));

describe('renderBootstrap', () => {
  const b = render(base);

  it('listens on the capture, health and metrics ports, and nothing else', () => {
    const ports = (b.static_resources.listeners as Any[]).map((l) => [l.name, port(l)]);
    expect(ports).toEqual([
      ['outbound', 15001],
      ['inbound', 15006],
      ['health', 15021],
      ['metrics', 15090],
    ]);
  });

  it('passes captured connections to their original destination', () => {
    const out = listener(b, 'outbound');
    expect(filterTypes(out)).toEqual(['OriginalDst']);
    expect(out.use_original_dst).toBeUndefined();
    expect(out.default_filter_chain.filters[0].typed_config.cluster).toBe(BOOTSTRAP_NAMES.outboundCluster);
    expect(cluster(b, BOOTSTRAP_NAMES.outboundCluster)).toMatchObject({
      type: 'ORIGINAL_DST',
      lb_policy: 'CLUSTER_PROVIDED',
    });
    const inbound = listener(b, 'inbound');
    expect(filterTypes(inbound)).toEqual(['OriginalDst']);
    expect(inbound.default_filter_chain.filters[0].typed_config.cluster).toBe(BOOTSTRAP_NAMES.inboundCluster);
  });

  it('connects to the application from 127.0.0.6 and ::6, which the OUTPUT rules let through', () => {
    expect(cluster(b, BOOTSTRAP_NAMES.inboundCluster).upstream_bind_config).toEqual({
      source_address: { address: '127.0.0.6', port_value: 0 },
      extra_source_addresses: [{ address: { address: '::6', port_value: 0 } }],
    });
    expect(cluster(b, BOOTSTRAP_NAMES.outboundCluster).upstream_bind_config).toBeUndefined();
  });

  it('drops connections made straight to a capture port instead of looping them', () => {
    for (const [name, p] of [
      ['outbound', 15001],
      ['inbound', 15006],
    ] as const) {
      const chain = listener(b, name).filter_chains[0];
      expect(chain.filter_chain_match).toEqual({ destination_port: p });
      expect(chain.filters[0].typed_config.cluster).toBe(BOOTSTRAP_NAMES.blackhole);
    }
    expect(cluster(b, BOOTSTRAP_NAMES.blackhole).load_assignment).toBeUndefined();
  });

  it('answers /healthz/ready from the admin’s /ready and /stats/prometheus from the admin', () => {
    const route = (name: string): Any =>
      listener(b, name).filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[0];
    expect(route('health')).toEqual({
      match: { path: '/healthz/ready' },
      route: { cluster: 'admin', prefix_rewrite: '/ready' },
    });
    expect(route('metrics')).toEqual({ match: { path: '/stats/prometheus' }, route: { cluster: 'admin' } });
    expect(cluster(b, 'admin').load_assignment.endpoints[0].lb_endpoints[0].endpoint.address).toEqual({
      socket_address: { address: '127.0.0.1', port_value: 15000 },
    });
  });

  it('keeps the admin interface on loopback', () => {
    expect(b.admin).toEqual({ address: { socket_address: { address: '127.0.0.1', port_value: 15000 } } });
  });

  it('logs each proxied connection as JSON on stdout', () => {
    for (const name of ['outbound', 'inbound']) {
      const log = listener(b, name).default_filter_chain.filters[0].typed_config.access_log[0];
      expect(log.typed_config['@type']).toMatch(/StdoutAccessLog$/);
      expect(log.typed_config.log_format.json_format).toMatchObject({
        direction: name,
        bytes_sent: '%BYTES_SENT%',
      });
    }
  });

  it('takes the node ID and cluster from the pod when it starts', () => {
    expect(b.node).toMatchObject({ id: '{{ podName }}.{{ podNamespace }}', cluster: '{{ podNamespace }}' });
  });

  it('follows the policy’s ports', () => {
    const other = render({
      ...base,
      outboundPort: 16001,
      inboundPort: 16006,
      healthPort: 16021,
      adminPort: 16000,
    });
    expect(port(listener(other, 'outbound'))).toBe(16001);
    expect(listener(other, 'inbound').filter_chains[0].filter_chain_match.destination_port).toBe(16006);
    expect(port(listener(other, 'health'))).toBe(16021);
    expect(other.admin.address.socket_address.port_value).toBe(16000);
  });

  it('with TPROXY, makes both capture listeners transparent and keeps the client’s address inbound', () => {
    const t = render({ ...base, mode: 'TPROXY', tproxyMark: 4242 });
    expect(listener(t, 'outbound').transparent).toBe(true);
    expect(listener(t, 'inbound').transparent).toBe(true);
    expect(filterTypes(listener(t, 'inbound'))).toEqual(['OriginalDst', 'OriginalSrc']);
    expect(listener(t, 'inbound').listener_filters[1].typed_config.mark).toBe(4242);
    expect(listener(b, 'inbound').transparent).toBeUndefined();
  });

  it('without interception, has no capture listeners or passthrough clusters', () => {
    const n = render({ ...base, mode: 'None' });
    expect((n.static_resources.listeners as Any[]).map((l) => l.name)).toEqual(['health', 'metrics']);
    expect((n.static_resources.clusters as Any[]).map((c) => c.name)).toEqual(['admin']);
  });

  it('with a control plane, adds ADS and hands captured connections to the listeners it serves', () => {
    const x = render({
      ...base,
      xds: {
        host: 'cp.mesh.svc',
        port: 18000,
        apiType: 'DELTA_GRPC',
        tls: {
          caFile: '/etc/xds/ca.crt',
          certificateFile: '/etc/xds/tls.crt',
          privateKeyFile: '/etc/xds/tls.key',
        },
      },
    });
    expect(listener(x, 'outbound').use_original_dst).toBe(true);
    expect(listener(x, 'outbound').listener_filters).toBeUndefined();
    expect(x.dynamic_resources.ads_config).toMatchObject({
      api_type: 'DELTA_GRPC',
      transport_api_version: 'V3',
      grpc_services: [{ envoy_grpc: { cluster_name: BOOTSTRAP_NAMES.xdsCluster } }],
    });
    expect(x.dynamic_resources.lds_config).toEqual({ ads: {}, resource_api_version: 'V3' });
    const xds = cluster(x, BOOTSTRAP_NAMES.xdsCluster);
    expect(xds.type).toBe('STRICT_DNS');
    const tls = xds.transport_socket.typed_config;
    expect(tls.sni).toBe('cp.mesh.svc');
    expect(tls.common_tls_context.validation_context.trusted_ca).toEqual({ filename: '/etc/xds/ca.crt' });
    expect(tls.common_tls_context.tls_certificates[0].private_key).toEqual({ filename: '/etc/xds/tls.key' });
    const plain = render({
      ...base,
      xds: { host: '10.0.0.9', port: 18000, apiType: 'GRPC' },
    });
    expect(cluster(plain, BOOTSTRAP_NAMES.xdsCluster).transport_socket).toBeUndefined();
  });
});
