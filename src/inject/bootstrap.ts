import type { XdsApiType, XdsTLS } from '../api/index.js';
import type { InterceptionMode } from './template.js';

/**
 * The Envoy bootstrap the operator renders from a policy (bootstrap mode Default, and the static part
 * of Xds). It is what Istio's agent writes plus what istiod serves for a mesh with no services:
 *
 * - `outbound` on the outbound capture port: connections the iptables rules redirected are passed on,
 *   unchanged, to where the application sent them (TCP proxy to an ORIGINAL_DST cluster);
 * - `inbound` on the inbound capture port: the same for connections to the pod, sent on to the
 *   application's port from 127.0.0.6 (::6), which the OUTPUT rules let through, so they are not
 *   captured again; with TPROXY both listeners are transparent and the application sees the client's
 *   address (original_src, with the TPROXY mark that routes the replies back to the proxy);
 * - `health` on the health port: GET /healthz/ready answered by the admin's /ready, so 200 only while
 *   Envoy is LIVE (not while it initialises or drains);
 * - `metrics` on the metrics port: GET /stats/prometheus, from the admin;
 * - admin on 127.0.0.1 only; one JSON access log line per proxied connection on stdout.
 *
 * A connection made straight to a capture port (nothing redirected it) would be sent back to that
 * same port forever: a filter chain matching the capture port's own number drops it.
 *
 * Pure: the result is a plain JSON object; `{{ podName }}` and `{{ podNamespace }}` are left for the
 * init container to fill in when the pod starts (see proxy-config-start.ts).
 */
export interface BootstrapParams {
  policy: string;
  /** The pod's interception mode: the capture listeners exist unless None; TPROXY makes them transparent. */
  mode: InterceptionMode;
  outboundPort: number;
  inboundPort: number;
  adminPort: number;
  healthPort: number;
  metricsPort: number;
  /** The packet mark of TPROXY interception (the iptables program's -t). */
  tproxyMark: number;
  /** Mode Xds: the control plane to fetch further listeners and clusters from. */
  xds?: { host: string; port: number; apiType: XdsApiType; tls?: XdsTLS };
}

type Json = Record<string, unknown>;

/** Cluster and listener names, stable: they appear in stats, access logs and `proxy-config` output. */
export const BOOTSTRAP_NAMES = {
  outbound: 'outbound',
  inbound: 'inbound',
  health: 'health',
  metrics: 'metrics',
  outboundCluster: 'outbound-passthrough',
  inboundCluster: 'inbound-passthrough',
  adminCluster: 'admin',
  blackhole: 'blackhole',
  xdsCluster: 'xds-grpc',
} as const;

/** Where the inbound passthrough connects from (Istio's choice; the iptables OUTPUT rules know them). */
export const PASSTHROUGH_SOURCE = { ipv4: '127.0.0.6', ipv6: '::6' } as const;

const T = {
  tcpProxy: 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
  hcm: 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
  router: 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
  originalDst: 'type.googleapis.com/envoy.extensions.filters.listener.original_dst.v3.OriginalDst',
  originalSrc: 'type.googleapis.com/envoy.extensions.filters.listener.original_src.v3.OriginalSrc',
  stdoutLog: 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog',
  tls: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
  httpOptions: 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
} as const;

const socket = (address: string, port: number): Json => ({
  socket_address: { address, port_value: port },
});

/** One line per connection; TCP-level fields only, since the passthrough never parses HTTP. */
function accessLog(direction: 'inbound' | 'outbound'): Json[] {
  return [
    {
      name: 'envoy.access_loggers.stdout',
      typed_config: {
        '@type': T.stdoutLog,
        log_format: {
          json_format: {
            start_time: '%START_TIME%',
            direction,
            downstream_remote_address: '%DOWNSTREAM_REMOTE_ADDRESS%',
            downstream_local_address: '%DOWNSTREAM_LOCAL_ADDRESS%',
            upstream_host: '%UPSTREAM_HOST%',
            upstream_local_address: '%UPSTREAM_LOCAL_ADDRESS%',
            upstream_cluster: '%UPSTREAM_CLUSTER%',
            bytes_received: '%BYTES_RECEIVED%',
            bytes_sent: '%BYTES_SENT%',
            duration_ms: '%DURATION%',
            response_flags: '%RESPONSE_FLAGS%',
            termination: '%CONNECTION_TERMINATION_DETAILS%',
            upstream_failure: '%UPSTREAM_TRANSPORT_FAILURE_REASON%',
          },
        },
      },
    },
  ];
}

function tcpProxyChain(name: string, cluster: string, log?: 'inbound' | 'outbound', port?: number): Json {
  return {
    name,
    ...(port === undefined ? {} : { filter_chain_match: { destination_port: port } }),
    filters: [
      {
        name: 'envoy.filters.network.tcp_proxy',
        typed_config: {
          '@type': T.tcpProxy,
          stat_prefix: name,
          cluster,
          ...(log ? { access_log: accessLog(log) } : {}),
        },
      },
    ],
  };
}

function listenerFilter(name: string, type: string, config: Json = {}): Json {
  return { name, typed_config: { '@type': type, ...config } };
}

function outboundListener(p: BootstrapParams): Json {
  const n = BOOTSTRAP_NAMES;
  return {
    name: n.outbound,
    address: socket('0.0.0.0', p.outboundPort),
    traffic_direction: 'OUTBOUND',
    ...(p.mode === 'TPROXY' ? { transparent: true } : {}),
    // With a control plane, connections are handed to the listener it serves for their original
    // destination (bind_to_port: false), as in Istio; without one there is nothing to hand them to,
    // and a hand-off could land on the health or metrics listener for a remote host on those ports.
    ...(p.xds
      ? { use_original_dst: true }
      : {
          listener_filters: [listenerFilter('envoy.filters.listener.original_dst', T.originalDst)],
        }),
    filter_chains: [tcpProxyChain(`${n.outbound}-loop`, n.blackhole, undefined, p.outboundPort)],
    default_filter_chain: tcpProxyChain(n.outbound, n.outboundCluster, 'outbound'),
  };
}

function inboundListener(p: BootstrapParams): Json {
  const n = BOOTSTRAP_NAMES;
  const filters = [listenerFilter('envoy.filters.listener.original_dst', T.originalDst)];
  if (p.mode === 'TPROXY')
    filters.push(
      listenerFilter('envoy.filters.listener.original_src', T.originalSrc, { mark: p.tproxyMark }),
    );
  return {
    name: n.inbound,
    address: socket('0.0.0.0', p.inboundPort),
    traffic_direction: 'INBOUND',
    ...(p.mode === 'TPROXY' ? { transparent: true } : {}),
    listener_filters: filters,
    filter_chains: [tcpProxyChain(`${n.inbound}-loop`, n.blackhole, undefined, p.inboundPort)],
    default_filter_chain: tcpProxyChain(n.inbound, n.inboundCluster, 'inbound'),
  };
}

/** An HTTP listener that forwards one exact path to the admin interface (rewritten when asked). */
function adminRouteListener(name: string, port: number, path: string, rewrite?: string): Json {
  return {
    name,
    address: socket('0.0.0.0', port),
    // Probes and scrapes must get through even when connection limits are hit.
    ignore_global_conn_limit: true,
    filter_chains: [
      {
        filters: [
          {
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type': T.hcm,
              stat_prefix: name,
              codec_type: 'AUTO',
              route_config: {
                name,
                virtual_hosts: [
                  {
                    name,
                    domains: ['*'],
                    routes: [
                      {
                        match: { path },
                        route: {
                          cluster: BOOTSTRAP_NAMES.adminCluster,
                          ...(rewrite ? { prefix_rewrite: rewrite } : {}),
                        },
                      },
                    ],
                  },
                ],
              },
              http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': T.router } }],
            },
          },
        ],
      },
    ],
  };
}

function passthroughCluster(name: string, bind?: boolean): Json {
  return {
    name,
    type: 'ORIGINAL_DST',
    lb_policy: 'CLUSTER_PROVIDED',
    connect_timeout: '10s',
    ...(bind
      ? {
          // Envoy picks the source of the destination's family.
          upstream_bind_config: {
            source_address: { address: PASSTHROUGH_SOURCE.ipv4, port_value: 0 },
            extra_source_addresses: [{ address: { address: PASSTHROUGH_SOURCE.ipv6, port_value: 0 } }],
          },
        }
      : {}),
  };
}

function staticCluster(name: string, address: string, port: number, extra: Json = {}): Json {
  return {
    name,
    type: 'STATIC',
    connect_timeout: '1s',
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: socket(address, port) } }] }],
    },
    ...extra,
  };
}

function xdsCluster(xds: NonNullable<BootstrapParams['xds']>): Json {
  const name = BOOTSTRAP_NAMES.xdsCluster;
  const tls = xds.tls;
  const serverName = tls?.serverName ?? xds.host;
  return {
    name,
    // A DNS name (a Service) or an IP address; STRICT_DNS takes both.
    type: 'STRICT_DNS',
    connect_timeout: '5s',
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: socket(xds.host, xds.port) } }] }],
    },
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': T.httpOptions,
        explicit_http_config: { http2_protocol_options: {} },
      },
    },
    ...(tls
      ? {
          transport_socket: {
            name: 'envoy.transport_sockets.tls',
            typed_config: {
              '@type': T.tls,
              sni: serverName,
              common_tls_context: {
                ...(tls.certificateFile && tls.privateKeyFile
                  ? {
                      tls_certificates: [
                        {
                          certificate_chain: { filename: tls.certificateFile },
                          private_key: { filename: tls.privateKeyFile },
                        },
                      ],
                    }
                  : {}),
                validation_context: {
                  trusted_ca: { filename: tls.caFile },
                  match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: serverName } }],
                },
              },
            },
          },
        }
      : {}),
  };
}

function dynamicResources(xds: NonNullable<BootstrapParams['xds']>): Json {
  const source = { ads: {}, resource_api_version: 'V3' };
  return {
    ads_config: {
      api_type: xds.apiType,
      transport_api_version: 'V3',
      set_node_on_first_message_only: true,
      grpc_services: [{ envoy_grpc: { cluster_name: BOOTSTRAP_NAMES.xdsCluster } }],
    },
    lds_config: source,
    cds_config: source,
  };
}

/** The bootstrap as a plain object, keys in the order Envoy's documentation lists them. */
export function renderBootstrap(p: BootstrapParams): Json {
  const n = BOOTSTRAP_NAMES;
  const capture = p.mode !== 'None';
  const listeners = [
    ...(capture ? [outboundListener(p), inboundListener(p)] : []),
    adminRouteListener(n.health, p.healthPort, '/healthz/ready', '/ready'),
    adminRouteListener(n.metrics, p.metricsPort, '/stats/prometheus'),
  ];
  const clusters = [
    ...(capture
      ? [
          passthroughCluster(n.outboundCluster),
          passthroughCluster(n.inboundCluster, true),
          // No endpoints: every connection to it is closed at once.
          { name: n.blackhole, type: 'STATIC', connect_timeout: '1s' },
        ]
      : []),
    staticCluster(n.adminCluster, '127.0.0.1', p.adminPort, { connect_timeout: '0.25s' }),
    ...(p.xds ? [xdsCluster(p.xds)] : []),
  ];
  return {
    node: {
      id: '{{ podName }}.{{ podNamespace }}',
      cluster: '{{ podNamespace }}',
      metadata: { policy: p.policy, interception: p.mode },
    },
    static_resources: { listeners, clusters },
    ...(p.xds ? { dynamic_resources: dynamicResources(p.xds) } : {}),
    admin: { address: socket('127.0.0.1', p.adminPort) },
  };
}
